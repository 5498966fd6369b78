// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.22;

/// @title MembershipReader
/// @notice Never deployed: its creation code runs as an eth_call without `to`, and the constructor
///         returns its answer in place of runtime code. For every item of every query it calls
///         `target.selector(item)` (a `mapping(bytes32 => bool)` getter such as allowedOsImages)
///         and writes one byte: 0 false, 1 true, 2 the call reverted, 3 it answered no bool.
///         32 bytes of calldata and one byte of answer per item, where a Multicall3 call takes 192
///         and 128.
contract MembershipReader {
    struct Query {
        address target;
        bytes4 selector;
        bytes32[] items;
    }

    constructor(Query[] memory queries) {
        uint256 total;
        for (uint256 q = 0; q < queries.length; ++q) total += queries[q].items.length;
        bytes memory answers = new bytes(total);
        uint256 at;
        for (uint256 q = 0; q < queries.length; ++q) {
            Query memory query = queries[q];
            for (uint256 i = 0; i < query.items.length; ++i) {
                (bool ok, bytes memory ret) = query.target.staticcall(
                    abi.encodeWithSelector(query.selector, query.items[i])
                );
                uint8 answer = 2;
                if (ok) {
                    answer = 3;
                    if (ret.length >= 32) {
                        uint256 word = abi.decode(ret, (uint256));
                        if (word <= 1) answer = uint8(word);
                    }
                }
                answers[at++] = bytes1(answer);
            }
        }
        assembly {
            return(add(answers, 32), mload(answers))
        }
    }
}
