// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title ExpiringTimelock
/// @notice OpenZeppelin TimelockController whose operations expire: once an operation has been
///         ready for longer than `expiration` seconds it can no longer be executed (it can still
///         be cancelled). The expiration is changed only by the timelock itself, like the delay.
contract ExpiringTimelock is TimelockController {
    /// Seconds an operation stays executable after it becomes ready. Never zero.
    uint256 public expiration;

    event ExpirationChanged(uint256 oldExpiration, uint256 newExpiration);

    error TimelockOperationExpired(bytes32 id);
    error TimelockInvalidExpiration(uint256 expiration);

    constructor(
        uint256 minDelay,
        address[] memory proposers,
        address[] memory executors,
        address admin,
        uint256 _expiration
    ) TimelockController(minDelay, proposers, executors, admin) {
        if (_expiration == 0) revert TimelockInvalidExpiration(_expiration);
        expiration = _expiration;
        emit ExpirationChanged(0, _expiration);
    }

    /// @notice Pending (waiting or ready, not done) and past its execution window.
    function isOperationExpired(bytes32 id) public view returns (bool) {
        return isOperationPending(id) && block.timestamp > getTimestamp(id) + expiration;
    }

    /// @notice Change the execution window. Callable only by the timelock itself.
    function updateExpiration(uint256 newExpiration) public virtual {
        address sender = _msgSender();
        if (sender != address(this)) {
            revert TimelockUnauthorizedCaller(sender);
        }
        if (newExpiration == 0) revert TimelockInvalidExpiration(newExpiration);
        emit ExpirationChanged(expiration, newExpiration);
        expiration = newExpiration;
    }

    function execute(
        address target,
        uint256 value,
        bytes calldata payload,
        bytes32 predecessor,
        bytes32 salt
    ) public payable virtual override {
        bytes32 id = hashOperation(target, value, payload, predecessor, salt);
        if (isOperationExpired(id)) revert TimelockOperationExpired(id);
        super.execute(target, value, payload, predecessor, salt);
    }

    function executeBatch(
        address[] calldata targets,
        uint256[] calldata values,
        bytes[] calldata payloads,
        bytes32 predecessor,
        bytes32 salt
    ) public payable virtual override {
        bytes32 id = hashOperationBatch(targets, values, payloads, predecessor, salt);
        if (isOperationExpired(id)) revert TimelockOperationExpired(id);
        super.executeBatch(targets, values, payloads, predecessor, salt);
    }
}
