// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

/// @title IAppAuth
/// @notice The boot-authorization interface that dstack's KMS consults (our own declaration of
///         the public dstack interface). ERC-165 id advertised by implementers: 0x1e079198.
interface IAppAuth {
    struct AppBootInfo {
        address appId;
        bytes32 composeHash;
        address instanceId;
        bytes32 deviceId;
        bytes32 mrAggregated;
        bytes32 mrSystem;
        bytes32 osImageHash;
        string tcbStatus;
        string[] advisoryIds;
    }

    function isAppAllowed(AppBootInfo calldata bootInfo) external view returns (bool isAllowed, string memory reason);
}
