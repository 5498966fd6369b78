// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {ERC165Upgradeable} from "@openzeppelin/contracts-upgradeable/utils/introspection/ERC165Upgradeable.sol";
import {IAppAuth} from "./IAppAuth.sol";

/// @title DstackApp (test fixture)
/// @notice Per-application boot policy, written to the public dstack DstackApp interface
///         (v0.5.x style: single-step Ownable, UUPS behind an ERC1967Proxy).
contract DstackApp is Initializable, OwnableUpgradeable, UUPSUpgradeable, ERC165Upgradeable, IAppAuth {
    /// ERC-165 id of dstack's IAppAuth.
    bytes4 internal constant IAPP_AUTH_ID = 0x1e079198;
    /// ERC-165 id of dstack's IAppAuthBasicManagement (add/remove compose hash and device).
    bytes4 internal constant IAPP_AUTH_BASIC_MANAGEMENT_ID = 0x8fd37527;

    mapping(bytes32 => bool) public allowedComposeHashes;
    bool public upgradesDisabled;
    bool public allowAnyDevice;
    mapping(bytes32 => bool) public allowedDeviceIds;
    string public tcbPolicy;
    bool public requireTcbUpToDate;

    uint256[50] private __gap;

    event ComposeHashAdded(bytes32 composeHash);
    event ComposeHashRemoved(bytes32 composeHash);
    event DeviceAdded(bytes32 deviceId);
    event DeviceRemoved(bytes32 deviceId);
    event AllowAnyDeviceSet(bool allowAny);
    event RequireTcbUpToDateSet(bool requireUpToDate);
    event UpgradesDisabled();
    event TcbPolicySet(string policy);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    function initialize(
        address initialOwner,
        bool _disableUpgrades,
        bool _requireTcbUpToDate,
        bool _allowAnyDevice,
        bytes32 initialDeviceId,
        bytes32 initialComposeHash
    ) public initializer {
        require(initialOwner != address(0), "Invalid owner address");
        __Ownable_init(initialOwner);
        __ERC165_init();

        if (_disableUpgrades) {
            upgradesDisabled = true;
            emit UpgradesDisabled();
        }
        if (_requireTcbUpToDate) {
            requireTcbUpToDate = true;
            emit RequireTcbUpToDateSet(true);
        }
        if (_allowAnyDevice) {
            allowAnyDevice = true;
            emit AllowAnyDeviceSet(true);
        }
        if (initialDeviceId != bytes32(0)) {
            allowedDeviceIds[initialDeviceId] = true;
            emit DeviceAdded(initialDeviceId);
        }
        if (initialComposeHash != bytes32(0)) {
            allowedComposeHashes[initialComposeHash] = true;
            emit ComposeHashAdded(initialComposeHash);
        }
    }

    // ---- owner-only policy writes (events are emitted even when nothing changes) ----

    function addComposeHash(bytes32 composeHash) external onlyOwner {
        allowedComposeHashes[composeHash] = true;
        emit ComposeHashAdded(composeHash);
    }

    function removeComposeHash(bytes32 composeHash) external onlyOwner {
        allowedComposeHashes[composeHash] = false;
        emit ComposeHashRemoved(composeHash);
    }

    function addDevice(bytes32 deviceId) external onlyOwner {
        allowedDeviceIds[deviceId] = true;
        emit DeviceAdded(deviceId);
    }

    function removeDevice(bytes32 deviceId) external onlyOwner {
        allowedDeviceIds[deviceId] = false;
        emit DeviceRemoved(deviceId);
    }

    function setAllowAnyDevice(bool _allowAnyDevice) external onlyOwner {
        allowAnyDevice = _allowAnyDevice;
        emit AllowAnyDeviceSet(_allowAnyDevice);
    }

    function setRequireTcbUpToDate(bool _requireTcbUpToDate) external onlyOwner {
        requireTcbUpToDate = _requireTcbUpToDate;
        emit RequireTcbUpToDateSet(_requireTcbUpToDate);
    }

    function setTcbPolicy(string calldata policy) external onlyOwner {
        tcbPolicy = policy;
        emit TcbPolicySet(policy);
    }

    /// @notice Permanently forbid further upgrades of this proxy.
    function disableUpgrades() external onlyOwner {
        upgradesDisabled = true;
        emit UpgradesDisabled();
    }

    // ---- views ----

    function isAppAllowed(AppBootInfo calldata bootInfo)
        external
        view
        virtual
        override
        returns (bool isAllowed, string memory reason)
    {
        if (requireTcbUpToDate && keccak256(bytes(bootInfo.tcbStatus)) != keccak256(bytes("UpToDate"))) {
            return (false, "TCB status is not up to date");
        }
        if (!allowedComposeHashes[bootInfo.composeHash]) {
            return (false, "Compose hash not allowed");
        }
        if (!allowAnyDevice && !allowedDeviceIds[bootInfo.deviceId]) {
            return (false, "Device not allowed");
        }
        return (true, "");
    }

    function supportsInterface(bytes4 interfaceId) public view virtual override returns (bool) {
        return interfaceId == IAPP_AUTH_ID || interfaceId == IAPP_AUTH_BASIC_MANAGEMENT_ID
            || super.supportsInterface(interfaceId);
    }

    function _authorizeUpgrade(address) internal virtual override onlyOwner {
        require(!upgradesDisabled, "Upgrades are permanently disabled");
    }
}
