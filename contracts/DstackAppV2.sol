// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

import {DstackApp} from "./DstackApp.sol";

/// @notice Trivial upgrade target used to exercise UUPS upgrades in tests.
contract DstackAppV2 is DstackApp {
    function version() public pure override returns (uint256) {
        return 3;
    }
}
