// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {Ownable2StepUpgradeable} from "@openzeppelin/contracts-upgradeable/access/Ownable2StepUpgradeable.sol";
import {DstackAppBase} from "./DstackAppBase.sol";

/// @title DstackAppTwoStep (test fixture)
/// @notice The shape of upstream main: two-step ownership (pendingOwner, acceptOwnership,
///         OwnershipTransferStarted) and a PolicyChanged audit event on every policy write.
contract DstackAppTwoStep is DstackAppBase, Ownable2StepUpgradeable {
    event PolicyChanged(address indexed actor, bytes32 indexed policy, bytes32 indexed value, bool enabled);

    // Ownership moves in two steps: the new owner must call acceptOwnership.
    function transferOwnership(address newOwner) public override(OwnableUpgradeable, Ownable2StepUpgradeable) {
        super.transferOwnership(newOwner);
    }

    function _transferOwnership(address newOwner) internal override(OwnableUpgradeable, Ownable2StepUpgradeable) {
        super._transferOwnership(newOwner);
    }

    function _policyChanged(string memory policy, bytes32 value, bool enabled) internal override {
        emit PolicyChanged(msg.sender, keccak256(bytes(policy)), value, enabled);
    }
}
