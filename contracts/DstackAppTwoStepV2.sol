// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

import {DstackAppTwoStep} from "./DstackAppTwoStep.sol";

/// @notice Trivial upgrade target of the two-step shape, used to exercise UUPS upgrades in tests.
contract DstackAppTwoStepV2 is DstackAppTwoStep {
    function version() public pure override returns (uint256) {
        return 3;
    }
}
