// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

import {DstackAppBase} from "./DstackAppBase.sol";

/// @title DstackApp (test fixture)
/// @notice The released upstream shape (v0.5.10/v0.5.11): single-step Ownable, requireTcbUpToDate,
///         private upgrades-disabled flag, no PolicyChanged event.
contract DstackApp is DstackAppBase {}
