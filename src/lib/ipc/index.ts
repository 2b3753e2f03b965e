/**
 * The only module that talks to Tauri. Everything else in the UI imports typed wrappers from
 * here, so the IPC surface is one file to read and one place to mock in tests.
 */
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen, type EventCallback, type UnlistenFn } from "@tauri-apps/api/event";
import type { AppInfo } from "$gen/ipc/AppInfo";
import type { StartAtLoginDto } from "$gen/ipc/StartAtLoginDto";
import type { ConflictDto } from "$gen/ipc/ConflictDto";
import type { TrashedDto } from "$gen/ipc/TrashedDto";
import type { BrowsedDto } from "$gen/ipc/BrowsedDto";
import type { DefaultPatternDto } from "$gen/ipc/DefaultPatternDto";
import type { ExcludesDto } from "$gen/ipc/ExcludesDto";
import type { FailureDto } from "$gen/ipc/FailureDto";
import type { FilterPreviewDto } from "$gen/ipc/FilterPreviewDto";
import type { IgnoredDto } from "$gen/ipc/IgnoredDto";
import type { RefusedDeletesDto } from "$gen/ipc/RefusedDeletesDto";
import type { DeleteDecisionDto } from "$gen/ipc/DeleteDecisionDto";
import type { Command, CommandArgs, CommandResult } from "$gen/ipc/contract";
import type { DemoDto } from "$gen/ipc/DemoDto";
import type { Hint } from "$gen/ipc/Hint";
import type { JobChangedDto } from "$gen/ipc/JobChangedDto";
import type { JobId } from "$gen/ipc/JobId";
import type { JobRecordDto } from "$gen/ipc/JobRecordDto";
import type { JobSnapshotDto } from "$gen/ipc/JobSnapshotDto";
import type { LifecycleDto } from "$gen/ipc/LifecycleDto";
import type { LocalFolderDto } from "$gen/ipc/LocalFolderDto";
import type { LoginStartedDto } from "$gen/ipc/LoginStartedDto";
import type { ModeDto } from "$gen/ipc/ModeDto";
import type { PairDto } from "$gen/ipc/PairDto";
import type { PairId } from "$gen/ipc/PairId";
import type { PairSettingsDto } from "$gen/ipc/PairSettingsDto";
import type { RemoteDto } from "$gen/ipc/RemoteDto";
import type { RemoteId } from "$gen/ipc/RemoteId";
import type { SyncEvent } from "$gen/ipc/SyncEvent";
import { toCommandError } from "./errors";

export type { AppInfo } from "$gen/ipc/AppInfo";
export type { StartAtLoginDto } from "$gen/ipc/StartAtLoginDto";
export type { BrowsedDto } from "$gen/ipc/BrowsedDto";
export type { DefaultPatternDto } from "$gen/ipc/DefaultPatternDto";
export type { ExcludesDto } from "$gen/ipc/ExcludesDto";
export type { FailureDto } from "$gen/ipc/FailureDto";
export type { FilterPreviewDto } from "$gen/ipc/FilterPreviewDto";
export type { IgnoredDto } from "$gen/ipc/IgnoredDto";
export type { NewFolderDto } from "$gen/ipc/NewFolderDto";
export type { AutoStatusDto } from "$gen/ipc/AutoStatusDto";
export type { CertificateDto } from "$gen/ipc/CertificateDto";
export type { ConflictDto } from "$gen/ipc/ConflictDto";
export type { DemoDto } from "$gen/ipc/DemoDto";
export type { ErrorKind } from "$gen/ipc/ErrorKind";
export type { Hint } from "$gen/ipc/Hint";
export type { JobChangedDto } from "$gen/ipc/JobChangedDto";
export type { JobId } from "$gen/ipc/JobId";
export type { JobRecordDto } from "$gen/ipc/JobRecordDto";
export type { JobSnapshotDto } from "$gen/ipc/JobSnapshotDto";
export type { JobStateDto } from "$gen/ipc/JobStateDto";
export type { LocalFolderDto } from "$gen/ipc/LocalFolderDto";
export type { LoginStartedDto } from "$gen/ipc/LoginStartedDto";
export type { ModeDto } from "$gen/ipc/ModeDto";
export type { PairDto } from "$gen/ipc/PairDto";
export type { PairId } from "$gen/ipc/PairId";
export type { PairSettingsDto } from "$gen/ipc/PairSettingsDto";
export type { RemoteDto } from "$gen/ipc/RemoteDto";
export type { RemoteId } from "$gen/ipc/RemoteId";
export type { SummaryDto } from "$gen/ipc/SummaryDto";
export type { SyncEvent } from "$gen/ipc/SyncEvent";
export type { TrashedDto } from "$gen/ipc/TrashedDto";
export type { RefusedDeletesDto } from "$gen/ipc/RefusedDeletesDto";
export type { DeleteDecisionDto } from "$gen/ipc/DeleteDecisionDto";
export { CommandError } from "./errors";

/** The event every window gets when a job starts, changes state or ends. */
const JOBS_CHANGED = "jobs-changed";
/** The event every window gets after the app was suspended or resumed. */
const LIFECYCLE = "lifecycle";
/** The event every window gets when a pair's automatic sync changed what it shows. */
const PAIRS_CHANGED = "pairs-changed";

/** Every call goes through here; `Command` is generated from the commands the app registers. */
/** A command's arguments: required where it takes any, none where it takes none. */
type ArgsOf<C extends Command> = Record<string, never> extends CommandArgs[C]
  ? [args?: CommandArgs[C]]
  : [args: CommandArgs[C]];

/**
 * Invokes `command`, typed by its Rust signature (`gen/ipc/contract.ts`): a wrapper that sends
 * other arguments or expects another answer does not compile.
 */
async function call<C extends Command>(command: C, ...[args]: ArgsOf<C>): Promise<CommandResult[C]> {
  try {
    return await invoke<CommandResult[C]>(command, args);
  } catch (reason) {
    throw toCommandError(reason);
  }
}

/** The app's version, platform and data directory. */
export function appInfo(): Promise<AppInfo> {
  return call("app_info");
}

/** Whether Tidesync starts at login (desktop), and whether to offer it. */
export function startAtLogin(): Promise<StartAtLoginDto> {
  return call("start_at_login");
}

/** Turns starting at login on or off; either answer takes up the one-time offer. */
export function setStartAtLogin(enabled: boolean): Promise<StartAtLoginDto> {
  return call("set_start_at_login", { enabled });
}

/** Opens the folder of the app's logs in the file manager (desktop). */
export function openLogsFolder(): Promise<void> {
  return call("open_logs_folder");
}

export function listRemotes(): Promise<RemoteDto[]> {
  return call("list_remotes");
}

/**
 * Tests the connection with one PROPFIND, then saves the remote, its password and (with
 * `pinSha256`) the one certificate the user chose to trust.
 */
export function addRemote(remote: {
  name: string;
  url: string;
  user?: string | null;
  password?: string | null;
  pinSha256?: string | null;
}): Promise<RemoteDto> {
  return call("add_remote", { ...remote });
}

/** Without a password the stored one is kept; without `pinSha256`, the trusted certificate. */
export function updateRemote(remote: {
  id: RemoteId;
  name: string;
  url: string;
  user?: string | null;
  password?: string | null;
  pinSha256?: string | null;
}): Promise<RemoteDto> {
  return call("update_remote", { ...remote });
}

export function removeRemote(id: RemoteId): Promise<void> {
  return call("remove_remote", { id });
}

/**
 * Starts signing in to Nextcloud (Login Flow v2) at the server's address and opens its page
 * in the system browser; `loginUrl` is that page, for when no browser opened.
 */
export function beginLogin(login: { url: string; pinSha256?: string | null }): Promise<LoginStartedDto> {
  return call("begin_login", { ...login });
}

/**
 * Waits until the user granted access in the browser, then saves the server as `name`; with
 * `remoteId`, that server signs in again (its app password was revoked), keeping its pairs.
 */
export function completeLogin(login: { loginId: number; name: string; remoteId?: RemoteId | null }): Promise<RemoteDto> {
  return call("complete_login", { ...login });
}

/** Stops waiting for a sign-in; its `completeLogin` rejects with `cancelled`. */
export function cancelLogin(loginId: number): Promise<void> {
  return call("cancel_login", { loginId });
}

/** Starts the embedded demo remote and adds it with a download pair. */
export function addDemoRemote(): Promise<DemoDto> {
  return call("add_demo_remote");
}

export function listPairs(): Promise<PairDto[]> {
  return call("list_pairs");
}

export function addPair(pair: {
  remoteId: RemoteId;
  remotePath: string;
  local: LocalFolderDto;
  mode: ModeDto;
}): Promise<PairDto> {
  return call("add_pair", { ...pair });
}

export function removePair(id: PairId): Promise<void> {
  return call("remove_pair", { id });
}

/** Saves a pair's mode and settings; what the journal knows of its files is kept. */
export function updatePair(pair: { id: PairId; mode: ModeDto; settings: PairSettingsDto }): Promise<PairDto> {
  return call("update_pair", { ...pair });
}

/** The conflict copies in a pair's folder, newest first. */
export function listConflicts(pairId: PairId): Promise<ConflictDto[]> {
  return call("list_conflicts", { pairId });
}

/** Shows a conflict copy in the file manager (desktop). */
export function revealConflict(pairId: PairId, path: string): Promise<void> {
  return call("reveal_conflict", { pairId, path });
}

/** What the delete guard refused in a pair's last sync, or null. */
export function refusedDeletes(pairId: PairId): Promise<RefusedDeletesDto | null> {
  return call("refused_deletes", { pairId });
}

/** Carries out the user's decision about refused deletes; resolves to the sync that does it. */
export function decideDeletes(pairId: PairId, decision: DeleteDecisionDto): Promise<JobId> {
  return call("decide_deletes", { pairId, decision });
}

/** What syncs removed from a pair's folder (kept in its trash), newest first. */
export function listTrash(pairId: PairId): Promise<TrashedDto[]> {
  return call("list_trash", { pairId });
}

/** Puts a removed file back; resolves to where it went (beside a file that took its path). */
export function restoreTrashed(pairId: PairId, id: string): Promise<string> {
  return call("restore_trashed", { pairId, id });
}

/** Deletes everything in a pair's trash; resolves to how many files went. */
export function emptyTrash(pairId: PairId): Promise<number> {
  return call("empty_trash", { pairId });
}

/** The patterns every pair leaves out unless its settings switch them off. */
export function defaultExcludes(): Promise<DefaultPatternDto[]> {
  return call("default_excludes", {});
}

/** The files a pair could not sync, and when automatic sync tries each again. */
export function listFailures(pairId: PairId): Promise<FailureDto[]> {
  return call("list_failures", { pairId });
}

/** Shows a file a pair could not sync in the file manager, or its folder (desktop). */
export function revealFailure(pairId: PairId, path: string): Promise<void> {
  return call("reveal_failure", { pairId, path });
}

/** What a pair's last sync left out, and why. */
export function listIgnored(pairId: PairId): Promise<IgnoredDto[]> {
  return call("list_ignored", { pairId });
}

/** Moves the copy here of a folder the pair no longer syncs into its trash; resolves to how many files went. */
export function letGoFolder(pairId: PairId, folder: string): Promise<number> {
  return call("let_go_folder", { pairId, folder });
}

/** Syncs a large new server folder (resolving to the sync that brings it) or leaves it out (`null`). */
export function answerNewFolder(pairId: PairId, path: string, sync: boolean): Promise<JobId | null> {
  return call("answer_new_folder", { pairId, path, sync });
}

/** What a server folder holds (`""` for the top): folders first, with sizes where the server reports them. */
export function browseServer(remoteId: RemoteId, path: string): Promise<BrowsedDto[]> {
  return call("browse_server", { remoteId, path });
}

/** Makes a folder on the server (its parent must exist). */
export function makeServerFolder(remoteId: RemoteId, path: string): Promise<void> {
  return call("make_server_folder", { remoteId, path });
}

/** How much `excludes` would leave out of what a pair holds; rejects naming a bad pattern. */
export function previewExcludes(pairId: PairId, excludes: ExcludesDto): Promise<FilterPreviewDto> {
  return call("preview_excludes", { pairId, excludes });
}

/** A fresh channel per attach: the backend replaces this window's previous one. */
function channel(onEvent: (event: SyncEvent) => void): Channel<SyncEvent> {
  const events = new Channel<SyncEvent>();
  events.onmessage = onEvent;
  return events;
}

/** Starts a sync in the background; its events arrive on `onEvent`, a snapshot first. */
export function startSync(pairId: PairId, onEvent: (event: SyncEvent) => void): Promise<JobId> {
  return call("start_sync", { pairId, onEvent: channel(onEvent) });
}

/** Syncs every pair now; resolves with the jobs it started (the job list shows them all). */
export function syncAll(): Promise<JobId[]> {
  return call("sync_all");
}

/** Follows a running job from now on: a snapshot first, then live events. */
export function attachJob(jobId: JobId, onEvent: (event: SyncEvent) => void): Promise<void> {
  return call("attach_job", { jobId, onEvent: channel(onEvent) });
}

export function pauseJob(jobId: JobId): Promise<void> {
  return call("pause_job", { jobId });
}

export function resumeJob(jobId: JobId): Promise<void> {
  return call("resume_job", { jobId });
}

export function cancelJob(jobId: JobId): Promise<void> {
  return call("cancel_job", { jobId });
}

/** The jobs of this run of the app, with their latest progress. */
export function listJobs(): Promise<JobSnapshotDto[]> {
  return call("list_jobs");
}

/** Every job the journal remembers, newest first. */
export function jobHistory(): Promise<JobRecordDto[]> {
  return call("job_history");
}

/** E2E builds only: suspend or resume the app as a phone would. */
export function debugLifecycle(hint: Hint): Promise<LifecycleDto> {
  return call("debug_lifecycle", { hint });
}

/** E2E builds only: quit as the tray's Quit does (jobs checkpoint, the window's state is kept). */
export function debugQuit(): Promise<void> {
  return call("debug_quit");
}

async function subscribe<T>(event: string, handler: EventCallback<T>): Promise<UnlistenFn> {
  try {
    return await listen<T>(event, handler);
  } catch (reason) {
    throw toCommandError(reason);
  }
}

export function onJobsChanged(handler: (change: JobChangedDto) => void): Promise<UnlistenFn> {
  return subscribe<JobChangedDto>(JOBS_CHANGED, (event) => handler(event.payload));
}

export function onPairsChanged(handler: (pairId: PairId) => void): Promise<UnlistenFn> {
  return subscribe<PairId>(PAIRS_CHANGED, (event) => handler(event.payload));
}

export function onLifecycle(handler: (hint: Hint) => void): Promise<UnlistenFn> {
  return subscribe<Hint>(LIFECYCLE, (event) => handler(event.payload));
}

/** Tauri's own event when the app comes back to the foreground (mobile). */
export function onResumed(handler: () => void): Promise<UnlistenFn> {
  return subscribe("tauri://resumed", handler);
}
