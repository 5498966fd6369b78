import { BaseError } from "viem";

/** Which layer refused: how a reader knows whether to fix the config, the chain setup or the proposal. */
export type ErrorKind = "config" | "policy" | "simulation" | "rpc" | "fork" | "contract";

/** One thing wrong: where (a config path or a call), what, and how to fix it. */
export interface Problem {
  path?: string;
  message: string;
  fix?: string;
}

/**
 * The engine's one error shape: a short summary plus the problems behind it, each with its field
 * path and fix. Every message a user can meet goes through renderError.
 */
export class GovernanceError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly summary: string,
    readonly problems: readonly Problem[] = [],
    options: { cause?: unknown } = {},
  ) {
    super(
      problems.length ? `${summary}:\n${problems.map((p) => `  - ${describeProblem(p)}`).join("\n")}` : summary,
      options,
    );
    this.name = "GovernanceError";
  }
}

export function describeProblem(problem: Problem): string {
  return `${problem.path ? `${problem.path}: ` : ""}${problem.message}${problem.fix ? `; fix: ${problem.fix}` : ""}`;
}

/**
 * An RPC URL as it may be shown: scheme, host and port only. User info, paths and queries often
 * carry API keys (https://eth-mainnet.example/v2/<key>, https://user:secret@host).
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const hidden = parsed.username || parsed.password || (parsed.pathname && parsed.pathname !== "/") || parsed.search;
    return `${parsed.protocol}//${parsed.host}${hidden ? "/…" : ""}`;
  } catch {
    return "<unparsable URL>";
  }
}

/** Every http(s) URL in a text, redacted. */
export function redactUrls(text: string): string {
  return text.replace(/\bhttps?:\/\/[^\s"'<>),;]+/gi, (url) => redactUrl(url.replace(/[.:]+$/, "")));
}

const MAX_DETAIL = 300;

/** An RPC that answers with a web page (a proxy's error page, a login wall) is named, not pasted. */
function withoutHtml(text: string): string {
  return text.replace(/<(!doctype|html)[\s\S]*?(<\/html>|$)/gi, (page) => {
    const title = /<title>([^<]*)<\/title>/i.exec(page)?.[1]?.trim();
    return `(an HTML page${title ? ` titled "${title.slice(0, 80)}"` : ""}, ${page.length} bytes)`;
  });
}

function truncate(text: string): string {
  return text.length > MAX_DETAIL
    ? `${text.slice(0, MAX_DETAIL)}… (${text.length - MAX_DETAIL} more characters)`
    : text;
}

/** A raw answer (RPC body, revert dump) cut to what a message can carry. */
export function shortDetail(text: string | undefined): string {
  return truncate(withoutHtml(text ?? ""));
}

function baseText(error: unknown): string {
  if (error instanceof GovernanceError) return error.message;
  if (error instanceof BaseError) {
    // viem's details carry the raw answer: an HTML page or a long revert dump is cut down.
    const details =
      error.details && !error.shortMessage.includes(error.details) ? ` (${shortDetail(error.details)})` : "";
    return `${error.shortMessage}${details}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The one way errors reach a user (pulumi preview/up through index.ts, and the gov CLI): short
 * wording, problems each on a line (or joined with "; " for one-line output), no credentials in
 * URLs, no HTML pages, no stack traces unless asked for.
 */
export function renderError(error: unknown, options: { oneLine?: boolean; debug?: boolean } = {}): string {
  const raw = options.debug && error instanceof Error ? `${baseText(error)}\n${error.stack ?? ""}` : baseText(error);
  const text = redactUrls(withoutHtml(raw));
  if (!options.oneLine) return text;
  if (error instanceof GovernanceError && error.problems.length)
    return redactUrls(`${error.summary}: ${error.problems.map(describeProblem).join("; ")}`);
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .join(" ");
}
