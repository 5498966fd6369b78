// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

import {DstackKmsTwoStep} from "./DstackKmsTwoStep.sol";

/// @notice Trivial upgrade target of the two-step shape, used to exercise UUPS upgrades in tests.
contract DstackKmsTwoStepV2 is DstackKmsTwoStep {
    function version() external pure returns (string memory) {
        return "2";
    }
}
