// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

import {DstackKmsBase} from "./DstackKmsBase.sol";

/// @title DstackKms (test fixture)
/// @notice The released upstream shape (v0.5.10/v0.5.11): single-step Ownable, no PolicyChanged event.
contract DstackKms is DstackKmsBase {}
