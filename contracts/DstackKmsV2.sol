// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

import {DstackKms} from "./DstackKms.sol";

/// @notice Trivial upgrade target used to exercise UUPS upgrades in tests.
contract DstackKmsV2 is DstackKms {
    function version() external pure returns (string memory) {
        return "2";
    }
}
