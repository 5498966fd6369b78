import { encodeAbiParameters, type Address, type Hex, type PublicClient } from "viem";
import { CALLS_PER_MULTICALL } from "./multicall";
import { readAt, type PinnedBlock } from "./pinned-read";

/**
 * contracts/MembershipReader.sol as solc 0.8.37 compiles it (cancun, 200 optimizer runs): run as
 * an eth_call's creation code, never deployed. test/unit/membership-reader.test.ts checks that it
 * equals the build's artifact.
 */
export const MEMBERSHIP_READER_BYTECODE: Hex =
  "0x608060405234801561000f575f5ffd5b506040516104e03803806104e083398101604081905261002e916102d6565b5f805b825181101561006e5782818151811061004c5761004c610459565b60200260200101516040015151826100649190610481565b9150600101610031565b505f816001600160401b0381111561008857610088610248565b6040519080825280601f01601f1916602001820160405280156100b2576020820181803683370190505b5090505f805b845181101561023f575f8582815181106100d4576100d4610459565b602002602001015190505f5f90505b816040015151811015610235575f5f835f01516001600160a01b031684602001518560400151858151811061011a5761011a610459565b602002602001015160405160240161013491815260200190565b60408051601f198184030181529181526020820180516001600160e01b03166001600160e01b0319909416939093179092529051610172919061049a565b5f60405180830381855afa9150503d805f81146101aa576040519150601f19603f3d011682016040523d82523d5f602084013e6101af565b606091505b509092509050600282156101ef576003905060208251106101ef575f828060200190518101906101df91906104b0565b9050600181116101ed578091505b505b8060f81b8888806101ff906104c7565b99508151811061021157610211610459565b60200101906001600160f81b03191690815f1a9053505050508060010190506100e3565b50506001016100b8565b50815160208301f35b634e487b7160e01b5f52604160045260245ffd5b604051606081016001600160401b038111828210171561027e5761027e610248565b60405290565b604051601f8201601f191681016001600160401b03811182821017156102ac576102ac610248565b604052919050565b5f6001600160401b038211156102cc576102cc610248565b5060051b60200190565b5f602082840312156102e6575f5ffd5b81516001600160401b038111156102fb575f5ffd5b8201601f8101841361030b575f5ffd5b805161031e610319826102b4565b610284565b8082825260208201915060208360051b85010192508683111561033f575f5ffd5b602084015b8381101561044e5780516001600160401b03811115610361575f5ffd5b85016060818a03601f19011215610376575f5ffd5b61037e61025c565b60208201516001600160a01b0381168114610397575f5ffd5b815260408201516001600160e01b0319811681146103b3575f5ffd5b602082015260608201516001600160401b038111156103d0575f5ffd5b60208184010192505089601f8301126103e7575f5ffd5b81516103f5610319826102b4565b8082825260208201915060208360051b86010192508c831115610416575f5ffd5b6020850194505b8285101561043857845182526020948501949091019061041d565b6040840152505084525060209283019201610344565b509695505050505050565b634e487b7160e01b5f52603260045260245ffd5b634e487b7160e01b5f52601160045260245ffd5b808201808211156104945761049461046d565b92915050565b5f82518060208501845e5f920191825250919050565b5f602082840312156104c0575f5ffd5b5051919050565b5f600182016104d8576104d861046d565b506001019056fe";

const queryParameters = [
  {
    type: "tuple[]",
    components: [
      { name: "target", type: "address" },
      { name: "selector", type: "bytes4" },
      { name: "items", type: "bytes32[]" },
    ],
  },
] as const;

/** A `mapping(bytes32 => bool)` getter asked about items: `target.selector(item)`. */
export interface MembershipQuery {
  target: Address;
  selector: Hex;
  items: readonly Hex[];
}

/** One item's answer: a member or not, or the getter reverted, or it answered something that is not a bool. */
export type Membership = boolean | "reverted" | "not a bool";

const ANSWERS: Record<number, Membership> = { 0: false, 1: true, 2: "reverted", 3: "not a bool" };

/** The answer bytes for `count` items, each checked to be one the reader writes. */
export function decodeMemberships(data: Hex, count: number): Membership[] {
  if (data.length !== 2 + count * 2)
    throw new Error(`the membership reader answered ${(data.length - 2) / 2} bytes for ${count} items`);
  return Array.from({ length: count }, (_, i) => {
    const answer = ANSWERS[Number.parseInt(data.slice(2 + i * 2, 4 + i * 2), 16)];
    if (answer === undefined)
      throw new Error(`the membership reader answered 0x${data.slice(2 + i * 2, 4 + i * 2)} for item ${i}`);
    return answer;
  });
}

/**
 * Whether each item of each query is a member at the block, in query and item order: one eth_call
 * per CALLS_PER_MULTICALL items, run in parallel. 32 bytes of request and one of answer per item,
 * where Multicall3 takes 192 and 128: what a read of thousands of items spends its CPU on.
 */
export async function readMemberships(
  client: PublicClient,
  block: PinnedBlock,
  queries: readonly MembershipQuery[],
): Promise<Membership[]> {
  const batches: MembershipQuery[][] = [[]];
  let room = CALLS_PER_MULTICALL;
  for (const query of queries) {
    for (let at = 0; at < query.items.length; ) {
      if (room === 0) {
        batches.push([]);
        room = CALLS_PER_MULTICALL;
      }
      const items = query.items.slice(at, at + room);
      batches.at(-1)!.push({ ...query, items });
      at += items.length;
      room -= items.length;
    }
  }
  const answers = await Promise.all(
    batches
      .filter((batch) => batch.length > 0)
      .map(async (batch) => {
        const args = encodeAbiParameters(queryParameters, [batch as never]);
        const data = await readAt(client, block, "eth_call", [
          { data: `${MEMBERSHIP_READER_BYTECODE}${args.slice(2)}` },
        ]);
        return decodeMemberships(
          data,
          batch.reduce((sum, query) => sum + query.items.length, 0),
        );
      }),
  );
  return answers.flat();
}
