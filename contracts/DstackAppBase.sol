// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {ERC165Upgradeable} from "@openzeppelin/contracts-upgradeable/utils/introspection/ERC165Upgradeable.sol";
import {IAppAuth} from "./IAppAuth.sol";

/// @title DstackAppBase (test fixture)
/// @notice The per-application boot policy both upstream DstackApp shapes share (v0.5.10+ to main):
///         the same public getters, events and storage layout. The upgrades-disabled flag is
///         private (slot 1, byte 0, packed before allowAnyDevice) and the initializer sets it,
///         allowAnyDevice and requireTcbUpToDate without an event, as upstream does.
///         The shapes differ only in ownership (one or two steps) and the PolicyChanged audit event,
///         which the hook `_policyChanged` lets the main shape add.
abstract contract DstackAppBase is Initializable, OwnableUpgradeable, UUPSUpgradeable, ERC165Upgradeable, IAppAuth {
    bytes4 internal constant IAPP_AUTH_ID = 0x1e079198;
    bytes4 internal constant IAPP_AUTH_BASIC_MANAGEMENT_ID = 0x8fd37527;

    mapping(bytes32 => bool) public allowedComposeHashes; // slot 0
    bool private _upgradesDisabled; // slot 1, offset 0: no getter upstream
    bool public allowAnyDevice; // slot 1, offset 1
    mapping(bytes32 => bool) public allowedDeviceIds; // slot 2
    bool public requireTcbUpToDate; // slot 3

    uint256[49] private __gap;

    event ComposeHashAdded(bytes32 composeHash);
    event ComposeHashRemoved(bytes32 composeHash);
    event DeviceAdded(bytes32 deviceId);
    event DeviceRemoved(bytes32 deviceId);
    event UpgradesDisabled();
    event AllowAnyDeviceSet(bool allowAny);
    event RequireTcbUpToDateSet(bool requireUpToDate);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    /// @notice The pre-TCB-flag initializer, kept by upstream for old factories.
    function initialize(
        address initialOwner,
        bool disableUpgrades_,
        bool allowAnyDevice_,
        bytes32 initialDeviceId,
        bytes32 initialComposeHash
    ) public initializer {
        _setUp(initialOwner, disableUpgrades_, allowAnyDevice_, initialDeviceId, initialComposeHash);
    }

    function initialize(
        address initialOwner,
        bool disableUpgrades_,
        bool requireTcbUpToDate_,
        bool allowAnyDevice_,
        bytes32 initialDeviceId,
        bytes32 initialComposeHash
    ) public initializer {
        requireTcbUpToDate = requireTcbUpToDate_;
        _setUp(initialOwner, disableUpgrades_, allowAnyDevice_, initialDeviceId, initialComposeHash);
    }

    function _setUp(
        address initialOwner,
        bool disableUpgrades_,
        bool allowAnyDevice_,
        bytes32 initialDeviceId,
        bytes32 initialComposeHash
    ) private {
        require(initialOwner != address(0), "invalid owner address");
        // No UpgradesDisabled / AllowAnyDeviceSet here: only the later setters emit them.
        _upgradesDisabled = disableUpgrades_;
        allowAnyDevice = allowAnyDevice_;
        if (initialDeviceId != bytes32(0)) {
            allowedDeviceIds[initialDeviceId] = true;
            emit DeviceAdded(initialDeviceId);
            _policyChanged("device", initialDeviceId, true);
        }
        if (initialComposeHash != bytes32(0)) {
            allowedComposeHashes[initialComposeHash] = true;
            emit ComposeHashAdded(initialComposeHash);
            _policyChanged("compose-hash", initialComposeHash, true);
        }
        __Ownable_init(initialOwner);
        __ERC165_init();
    }

    /// @notice Upstream reports 2 from v0.5.10 on.
    function version() public pure virtual returns (uint256) {
        return 2;
    }

    // ---- owner-only policy writes (events are emitted even when nothing changes) ----

    function addComposeHash(bytes32 composeHash) external onlyOwner {
        allowedComposeHashes[composeHash] = true;
        emit ComposeHashAdded(composeHash);
        _policyChanged("compose-hash", composeHash, true);
    }

    function removeComposeHash(bytes32 composeHash) external onlyOwner {
        allowedComposeHashes[composeHash] = false;
        emit ComposeHashRemoved(composeHash);
        _policyChanged("compose-hash", composeHash, false);
    }

    function addDevice(bytes32 deviceId) external onlyOwner {
        allowedDeviceIds[deviceId] = true;
        emit DeviceAdded(deviceId);
        _policyChanged("device", deviceId, true);
    }

    function removeDevice(bytes32 deviceId) external onlyOwner {
        allowedDeviceIds[deviceId] = false;
        emit DeviceRemoved(deviceId);
        _policyChanged("device", deviceId, false);
    }

    function setAllowAnyDevice(bool allowAnyDevice_) external onlyOwner {
        allowAnyDevice = allowAnyDevice_;
        emit AllowAnyDeviceSet(allowAnyDevice_);
        _policyChanged("allow-any-device", bytes32(0), allowAnyDevice_);
    }

    function setRequireTcbUpToDate(bool requireUpToDate) external onlyOwner {
        requireTcbUpToDate = requireUpToDate;
        emit RequireTcbUpToDateSet(requireUpToDate);
        _policyChanged("require-tcb-up-to-date", bytes32(0), requireUpToDate);
    }

    /// @notice Permanently forbid further upgrades of this proxy.
    function disableUpgrades() external onlyOwner {
        _upgradesDisabled = true;
        emit UpgradesDisabled();
        _policyChanged("upgrades-disabled", bytes32(0), true);
    }

    // ---- views ----

    function isAppAllowed(AppBootInfo calldata bootInfo) external view override returns (bool isAllowed, string memory reason) {
        if (requireTcbUpToDate && keccak256(bytes(bootInfo.tcbStatus)) != keccak256(bytes("UpToDate"))) {
            return (false, "TCB status is not up to date");
        }
        if (!allowedComposeHashes[bootInfo.composeHash]) return (false, "Compose hash not allowed");
        if (!allowAnyDevice && !allowedDeviceIds[bootInfo.deviceId]) return (false, "Device not allowed");
        return (true, "");
    }

    function supportsInterface(bytes4 interfaceId) public view virtual override returns (bool) {
        return interfaceId == IAPP_AUTH_ID || interfaceId == IAPP_AUTH_BASIC_MANAGEMENT_ID || super.supportsInterface(interfaceId);
    }

    function _authorizeUpgrade(address newImplementation) internal override onlyOwner {
        require(!_upgradesDisabled, "Upgrades are permanently disabled");
        _policyChanged("implementation-upgrade", bytes32(uint256(uint160(newImplementation))), true);
    }

    /// @dev The released shape records nothing beyond the events above.
    function _policyChanged(string memory policy, bytes32 value, bool enabled) internal virtual {}
}
