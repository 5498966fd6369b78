import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

// Crash-safe file output: contents go to a temp file in the target's directory, are fsynced,
// then renamed over the target (rename is atomic within a filesystem), and the directory is
// fsynced so the rename itself survives a power loss. Readers see the old file or the new one,
// never a torn one.

export type FileToWrite = { path: string; contents: string };
export type WriteFilesResult = { written: string[]; unchanged: string[] };

// `.<target name>.<pid>.<random>.tmp`: hidden, unique per writer, and names the owning process
// so cleanup can tell a crashed writer's leftovers from a live writer's work in progress.
const TEMP_FILE_PATTERN = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/;

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `contents` to a fresh fsynced temp file beside `path` and returns the temp file's path. */
async function stageTempFile(path: string, contents: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const tempPath = tempPathFor(path);
  try {
    const handle = await open(tempPath, "wx");
    try {
      await handle.writeFile(contents, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    return tempPath;
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }
}

async function commitTempFile(tempPath: string, path: string): Promise<void> {
  try {
    await rename(tempPath, path);
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }
}

export async function writeFileAtomic(path: string, contents: string): Promise<void> {
  await commitTempFile(await stageTempFile(path, contents), path);
  await fsyncPath(dirname(path));
}

async function currentContents(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Writes a set of files, each atomically. Every changed file is staged before any is renamed
 * into place, so a failure while writing contents (disk full, bad path) leaves all targets as
 * they were. Files whose current contents already match are not touched, so a rerun is a no-op.
 */
export async function writeFilesAtomic(files: readonly FileToWrite[]): Promise<WriteFilesResult> {
  const paths = files.map((file) => file.path);
  const duplicate = paths.find((path, index) => paths.indexOf(path) !== index);
  if (duplicate) throw new Error(`writeFilesAtomic: ${duplicate} is listed more than once`);

  const changed: FileToWrite[] = [];
  const unchanged: string[] = [];
  for (const file of files) {
    if ((await currentContents(file.path)) === file.contents) unchanged.push(file.path);
    else changed.push(file);
  }

  const staged: { tempPath: string; path: string }[] = [];
  try {
    for (const file of changed)
      staged.push({ tempPath: await stageTempFile(file.path, file.contents), path: file.path });
  } catch (error) {
    await Promise.all(staged.map(({ tempPath }) => rm(tempPath, { force: true })));
    throw error;
  }

  for (const { tempPath, path } of staged) {
    await commitTempFile(tempPath, path);
    crashPoint("mid-write");
  }
  for (const dir of new Set(changed.map((file) => dirname(file.path)))) await fsyncPath(dir);
  return { written: changed.map((file) => file.path), unchanged };
}

/**
 * The crash-safety tests' seam: with GOV_CRASH_AT=<point> the process kills itself there with
 * SIGKILL (or GOV_CRASH_SIGNAL, e.g. SIGSTOP to freeze it while the test kills its parent).
 * Points: before-proposal-files, mid-write (after the first file of a set is in place),
 * after-proposal-files.
 */
export function crashPoint(point: string): void {
  if (process.env.GOV_CRASH_AT !== point) return;
  process.kill(process.pid, (process.env.GOV_CRASH_SIGNAL ?? "SIGKILL") as NodeJS.Signals);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Deletes temp files left in `dir` by writers that died mid-write. Temp files of a process
 * that is still running are kept: that writer may be about to rename them into place.
 * Returns the removed paths.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const stale = names
    .filter((name) => {
      const owner = TEMP_FILE_PATTERN.exec(name);
      return owner !== null && !isProcessAlive(Number(owner[1]));
    })
    .map((name) => join(dir, name));
  await Promise.all(stale.map((path) => rm(path, { force: true })));
  return stale;
}
