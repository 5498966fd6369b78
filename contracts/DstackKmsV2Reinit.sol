// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

import {DstackKms} from "./DstackKms.sol";

/// @notice Upgrade target with a migration (test fixture): a new field appended after the
///         existing storage, set by a reinitializer run in the same upgradeToAndCall.
contract DstackKmsV2Reinit is DstackKms {
    string public releaseName;

    event ReleaseNameSet(string releaseName);

    function initializeV2(string calldata name) external reinitializer(2) onlyOwner {
        releaseName = name;
        emit ReleaseNameSet(name);
    }

    function version() external pure returns (string memory) {
        return "2";
    }
}
