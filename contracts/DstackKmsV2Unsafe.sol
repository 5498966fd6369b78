// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

import {DstackKms} from "./DstackKms.sol";

/// @notice A base with its own storage: listed before DstackKms, its variable takes slot 0.
abstract contract KmsRegistrationFee {
    uint256 public registrationFee;
}

/// @notice An UNSAFE upgrade target (test fixture): it inserts a storage variable before every
///         DstackKms variable, so each authorized set would be read from the wrong slot.
contract DstackKmsV2Unsafe is KmsRegistrationFee, DstackKms {
    function version() external pure returns (string memory) {
        return "2-unsafe";
    }
}
