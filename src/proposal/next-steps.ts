import type { ProposalFile } from "./types";

/** What `pulumi up` ends with: where the proposal is, how many signatures it lacks, what to run next. */
export function nextSteps(p: ProposalFile): string {
  const files = `proposals/${p.stack}/${p.id}.{json,md,txbuilder.json}`;
  const missing = Math.max(0, p.safe.threshold - p.signatures.length);
  const gov = (command: string) => `node dist/cli/gov.js ${command} --stack ${p.stack}`;
  return [
    `proposal ${p.id} (Safe nonce ${p.safe.nonce}, Safe tx hash ${p.safeTxHash})`,
    `files: ${files} (commit them and open a pull request for review)`,
    `signatures: ${p.signatures.length} of ${p.safe.threshold}${missing ? `, ${missing} more needed` : ", enough to execute"}`,
    missing
      ? `next: each signer reads ${p.id}.md, then runs \`${gov(`sign ${p.id}`)}\` (or \`${gov(`show ${p.id} --typed-data`)}\` for a Ledger / cast, then \`sign ${p.id} --signature 0x…\`)`
      : `next: \`${gov(`execute ${p.id}`)}\` (or pulumi up with an executorKey)`,
  ].join("\n");
}
