import { parseAbi } from "viem";

// Written from the real dstack contracts' interface (shared/spec/dstack-contracts.md), not from our
// test fixtures, so that the engine keeps working against the deployed contracts.

const ownableUups = [
  "function owner() view returns (address)",
  "function transferOwnership(address newOwner)",
  "function renounceOwnership()",
  "function proxiableUUID() view returns (bytes32)",
  "function upgradeToAndCall(address newImplementation, bytes data) payable",
  "function UPGRADE_INTERFACE_VERSION() view returns (string)",
  "function supportsInterface(bytes4 interfaceId) view returns (bool)",
  "event OwnershipTransferred(address indexed previousOwner, address indexed newOwner)",
  "event Upgraded(address indexed implementation)",
  "event Initialized(uint64 version)",
  "error OwnableUnauthorizedAccount(address account)",
  "error OwnableInvalidOwner(address owner)",
  "error ERC1967InvalidImplementation(address implementation)",
  "error UUPSUnsupportedProxiableUUID(bytes32 slot)",
  "error UUPSUnauthorizedCallContext()",
] as const;

/** Two-step ownership and the policy audit event of the newer dstack main branch; probed, never assumed. */
export const ownable2StepAbi = parseAbi([
  "function pendingOwner() view returns (address)",
  "function acceptOwnership()",
  "event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner)",
  "event PolicyChanged(address indexed actor, bytes32 indexed policy, bytes32 indexed value, bool enabled)",
]);

export const dstackKmsAbi = parseAbi([
  ...ownableUups,
  "struct KmsInfo { bytes k256Pubkey; bytes caPubkey; bytes quote; bytes eventlog; }",
  "function kmsInfo() view returns (bytes k256Pubkey, bytes caPubkey, bytes quote, bytes eventlog)",
  "function gatewayAppId() view returns (string)",
  "function registeredApps(address app) view returns (bool)",
  "function kmsAllowedAggregatedMrs(bytes32 mr) view returns (bool)",
  "function kmsAllowedDeviceIds(bytes32 id) view returns (bool)",
  "function allowedOsImages(bytes32 hash) view returns (bool)",
  "function appImplementation() view returns (address)",
  "function setKmsInfo(KmsInfo info)",
  "function setKmsQuote(bytes quote)",
  "function setKmsEventlog(bytes eventlog)",
  "function setGatewayAppId(string appId)",
  "function setAppImplementation(address implementation)",
  "function addKmsAggregatedMr(bytes32 mr)",
  "function removeKmsAggregatedMr(bytes32 mr)",
  "function addKmsDevice(bytes32 deviceId)",
  "function removeKmsDevice(bytes32 deviceId)",
  "function addOsImageHash(bytes32 osImageHash)",
  "function removeOsImageHash(bytes32 osImageHash)",
  "function registerApp(address appId)",
  "event AppRegistered(address appId)",
  "event KmsInfoSet(bytes k256Pubkey)",
  "event KmsAggregatedMrAdded(bytes32 mrAggregated)",
  "event KmsAggregatedMrRemoved(bytes32 mrAggregated)",
  "event KmsDeviceAdded(bytes32 deviceId)",
  "event KmsDeviceRemoved(bytes32 deviceId)",
  "event OsImageHashAdded(bytes32 osImageHash)",
  "event OsImageHashRemoved(bytes32 osImageHash)",
  "event GatewayAppIdSet(string gatewayAppId)",
  "event AppImplementationSet(address implementation)",
  "event AppDeployedViaFactory(address indexed appId, address indexed deployer)",
]);

export const dstackAppAbi = parseAbi([
  ...ownableUups,
  "function allowedComposeHashes(bytes32 composeHash) view returns (bool)",
  "function allowAnyDevice() view returns (bool)",
  "function allowedDeviceIds(bytes32 deviceId) view returns (bool)",
  "function addComposeHash(bytes32 composeHash)",
  "function removeComposeHash(bytes32 composeHash)",
  "function addDevice(bytes32 deviceId)",
  "function removeDevice(bytes32 deviceId)",
  "function setAllowAnyDevice(bool allowAnyDevice)",
  "function disableUpgrades()",
  "event ComposeHashAdded(bytes32 composeHash)",
  "event ComposeHashRemoved(bytes32 composeHash)",
  "event DeviceAdded(bytes32 deviceId)",
  "event DeviceRemoved(bytes32 deviceId)",
  "event AllowAnyDeviceSet(bool allowAnyDevice)",
  "event UpgradesDisabled()",
]);

/**
 * DstackApp v0.5.10 and later (every shape since): the TCB flag and the contract's own version.
 * Probed: older apps revert. The upgrades-disabled flag has no getter in any version (read from storage).
 */
export const dstackAppTcbAbi = parseAbi([
  "function requireTcbUpToDate() view returns (bool)",
  "function setRequireTcbUpToDate(bool requireTcbUpToDate)",
  "function version() view returns (uint256)",
  "event RequireTcbUpToDateSet(bool requireUpToDate)",
]);

/** OpenZeppelin TimelockController (4.x TIMELOCK_ADMIN_ROLE, 5.x getOperationState) plus our expiration extension (ExpiringTimelock). */
export const timelockAbi = parseAbi([
  "function getMinDelay() view returns (uint256)",
  "function expiration() view returns (uint256)",
  "function PROPOSER_ROLE() view returns (bytes32)",
  "function EXECUTOR_ROLE() view returns (bytes32)",
  "function CANCELLER_ROLE() view returns (bytes32)",
  "function DEFAULT_ADMIN_ROLE() view returns (bytes32)",
  "function TIMELOCK_ADMIN_ROLE() view returns (bytes32)",
  "function hasRole(bytes32 role, address account) view returns (bool)",
  "function grantRole(bytes32 role, address account)",
  "function revokeRole(bytes32 role, address account)",
  "function getOperationState(bytes32 id) view returns (uint8)",
  "function getTimestamp(bytes32 id) view returns (uint256)",
  "function isOperationExpired(bytes32 id) view returns (bool)",
  "function hashOperationBatch(address[] targets, uint256[] values, bytes[] payloads, bytes32 predecessor, bytes32 salt) pure returns (bytes32)",
  "function scheduleBatch(address[] targets, uint256[] values, bytes[] payloads, bytes32 predecessor, bytes32 salt, uint256 delay)",
  "function executeBatch(address[] targets, uint256[] values, bytes[] payloads, bytes32 predecessor, bytes32 salt) payable",
  "function cancel(bytes32 id)",
  "function updateDelay(uint256 newDelay)",
  "function updateExpiration(uint256 newExpiration)",
  "event CallScheduled(bytes32 indexed id, uint256 indexed index, address target, uint256 value, bytes data, bytes32 predecessor, uint256 delay)",
  "event CallExecuted(bytes32 indexed id, uint256 indexed index, address target, uint256 value, bytes data)",
  "event CallSalt(bytes32 indexed id, bytes32 salt)",
  "event Cancelled(bytes32 indexed id)",
  "event MinDelayChange(uint256 oldDuration, uint256 newDuration)",
  "event ExpirationChanged(uint256 oldExpiration, uint256 newExpiration)",
  "event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)",
  "event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)",
  "error TimelockOperationExpired(bytes32 id)",
  "error TimelockUnexpectedOperationState(bytes32 operationId, bytes32 expectedStates)",
  "error TimelockInsufficientDelay(uint256 delay, uint256 minDelay)",
  "error TimelockUnauthorizedCaller(address caller)",
  "error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)",
]);

/** Safe v1.4.1 (SafeL2 emits the same plus SafeMultiSigTransaction). */
export const safeAbi = parseAbi([
  "function VERSION() view returns (string)",
  "function getOwners() view returns (address[])",
  "function getThreshold() view returns (uint256)",
  "function nonce() view returns (uint256)",
  "function isOwner(address owner) view returns (bool)",
  "function approvedHashes(address owner, bytes32 hash) view returns (uint256)",
  "function approveHash(bytes32 hashToApprove)",
  "function addOwnerWithThreshold(address owner, uint256 threshold)",
  "function removeOwner(address prevOwner, address owner, uint256 threshold)",
  "function swapOwner(address prevOwner, address oldOwner, address newOwner)",
  "function changeThreshold(uint256 threshold)",
  "function isModuleEnabled(address module) view returns (bool)",
  "function enableModule(address module)",
  "function execTransactionFromModule(address to, uint256 value, bytes data, uint8 operation) returns (bool success)",
  "function getTransactionHash(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, uint256 nonce) view returns (bytes32)",
  "function execTransaction(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, bytes signatures) payable returns (bool)",
  "event AddedOwner(address indexed owner)",
  "event RemovedOwner(address indexed owner)",
  "event ChangedThreshold(uint256 threshold)",
  "event ApproveHash(bytes32 indexed approvedHash, address indexed owner)",
  "event ExecutionSuccess(bytes32 indexed txHash, uint256 payment)",
  "event ExecutionFailure(bytes32 indexed txHash, uint256 payment)",
  "function simulateAndRevert(address targetContract, bytes calldataPayload)",
  "error GS013()",
]);

/** Safe 1.3.0 emits these without indexed arguments: decode (and filter) them from the data. */
export const safe130EventsAbi = parseAbi([
  "event AddedOwner(address owner)",
  "event RemovedOwner(address owner)",
  "event ExecutionSuccess(bytes32 txHash, uint256 payment)",
  "event ExecutionFailure(bytes32 txHash, uint256 payment)",
]);

export const simulateTxAccessorAbi = parseAbi([
  "function simulate(address to, uint256 value, bytes data, uint8 operation) returns (uint256 estimate, bool success, bytes returnData)",
]);

export const multiSendCallOnlyAbi = parseAbi(["function multiSend(bytes transactions) payable"]);
