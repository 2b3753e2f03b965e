/** The user's remotes and pairs, as the backend has them. */
import {
  addDemoRemote,
  addPair,
  addRemote,
  answerNewFolder,
  beginLogin,
  browseServer,
  cancelLogin,
  CommandError,
  completeLogin,
  decideDeletes,
  defaultExcludes,
  emptyTrash,
  letGoFolder,
  listFailures,
  listIgnored,
  makeServerFolder,
  listConflicts,
  listPairs,
  listRemotes,
  listTrash,
  onPairsChanged,
  previewExcludes,
  refusedDeletes,
  removePair,
  removeRemote,
  restoreTrashed,
  revealConflict,
  revealFailure,
  syncAll,
  updatePair,
  updateRemote,
  type ConflictDto,
  type LocalFolderDto,
  type ModeDto,
  type PairDto,
  type PairId,
  type PairSettingsDto,
  type RemoteDto,
  type RemoteId,
  type TrashedDto,
  type RefusedDeletesDto,
  type DeleteDecisionDto,
  type BrowsedDto,
  type DefaultPatternDto,
  type ExcludesDto,
  type FilterPreviewDto,
  type FailureDto,
  type IgnoredDto,
} from "./ipc";

/** `pinSha256`: the certificate the user chose to trust, by the fingerprint they were shown. */
export type RemoteForm = { name: string; url: string; user: string; password: string; pinSha256?: string };
export type PairForm = { remoteId: RemoteId; remotePath: string; local: LocalFolderDto; mode: ModeDto };

/** The form as the backend takes it: blank login fields are absent, not empty. */
function remoteArgs(form: RemoteForm) {
  const args = {
    name: form.name,
    url: form.url,
    user: form.user || null,
    password: form.password || null,
  };
  return form.pinSha256 ? { ...args, pinSha256: form.pinSha256 } : args;
}

export class Library {
  remotes = $state<RemoteDto[]>([]);
  pairs = $state<PairDto[]>([]);
  /** The conflict copies in every pair's folder, newest first. */
  conflicts = $state<ConflictDto[]>([]);
  /** Deletes the guard refused, per pair, waiting for the user's decision. */
  refused = $state<RefusedDeletesDto[]>([]);
  /** What syncs removed from every pair's folder (their trash), newest first. */
  removed = $state<TrashedDto[]>([]);
  loaded = $state(false);
  error = $state<CommandError | null>(null);
  empty = $derived(this.loaded && this.remotes.length === 0);

  remote(id: RemoteId): RemoteDto | undefined {
    return this.remotes.find((r) => r.id === id);
  }

  async load(): Promise<void> {
    try {
      [this.remotes, this.pairs] = await Promise.all([listRemotes(), listPairs()]);
      this.error = null;
    } catch (reason) {
      this.error = reason as CommandError;
    } finally {
      this.loaded = true;
    }
  }

  /** Re-reads the pairs whenever automatic sync changes what one shows; returns the unsubscribe. */
  async follow(): Promise<() => void> {
    return onPairsChanged(() => this.load());
  }

  /** Looks for conflict copies in every pair's folder (after a sync ends, not on every event). */
  async loadConflicts(): Promise<void> {
    try {
      const found = await Promise.all(this.pairs.map((p) => listConflicts(p.id)));
      this.conflicts = found.flat().sort((a, b) => b.foundAt - a.foundAt);
    } catch (reason) {
      this.error = reason as CommandError;
    }
  }

  /** Reads what the guard refused in every pair's last sync (after a sync ends). */
  async loadRefused(): Promise<void> {
    try {
      const found = await Promise.all(this.pairs.map((p) => refusedDeletes(p.id)));
      this.refused = found.filter((r): r is RefusedDeletesDto => r !== null);
    } catch (reason) {
      this.error = reason as CommandError;
    }
  }

  /** Decides about a pair's refused deletes; the sync that carries it out shows in the jobs. */
  async decideDeletes(refused: RefusedDeletesDto, decision: DeleteDecisionDto): Promise<void> {
    await this.#guard(async () => {
      await decideDeletes(refused.pairId, decision);
    });
    this.refused = this.refused.filter((r) => r.pairId !== refused.pairId);
  }

  /** Hides a pair's refused deletes until its next sync asks again. */
  decideLater(refused: RefusedDeletesDto): void {
    this.refused = this.refused.filter((r) => r.pairId !== refused.pairId);
  }

  /** Reads every pair's trash (after a sync ends, and after a restore or an emptying). */
  async loadRemoved(): Promise<void> {
    try {
      const found = await Promise.all(this.pairs.map((p) => listTrash(p.id)));
      this.removed = found.flat().sort((a, b) => b.removedAt - a.removedAt);
    } catch (reason) {
      this.error = reason as CommandError;
    }
  }

  /** Puts a removed file back; resolves to where it went, or null when it could not. */
  async restoreRemoved(entry: TrashedDto): Promise<string | null> {
    let placed: string | null = null;
    await this.#guard(async () => {
      placed = await restoreTrashed(entry.pairId, entry.id);
    });
    await this.loadRemoved();
    return placed;
  }

  /** Deletes everything in a pair's trash. */
  async emptyRemoved(pairId: PairId): Promise<void> {
    await this.#guard(async () => {
      await emptyTrash(pairId);
    });
    await this.loadRemoved();
  }

  async revealConflict(conflict: ConflictDto): Promise<void> {
    await this.#guard(() => revealConflict(conflict.pairId, conflict.path));
  }

  /** Syncs a large new server folder, or leaves it out (it joins the folders not chosen). */
  async answerNewFolder(pairId: PairId, path: string, sync: boolean): Promise<void> {
    await answerNewFolder(pairId, path, sync);
    await this.load();
  }

  /** What a server folder holds, folders first. */
  browse(remoteId: RemoteId, path: string): Promise<BrowsedDto[]> {
    return browseServer(remoteId, path);
  }

  /** Makes a folder on the server. */
  makeServerFolder(remoteId: RemoteId, path: string): Promise<void> {
    return makeServerFolder(remoteId, path);
  }

  /** Moves the copy here of a folder the pair no longer syncs into its trash. */
  async letGo(pairId: PairId, folder: string): Promise<number> {
    const went = await letGoFolder(pairId, folder);
    await this.loadRemoved();
    return went;
  }

  /** The patterns every pair leaves out unless switched off. */
  defaultExcludes(): Promise<DefaultPatternDto[]> {
    return defaultExcludes();
  }

  /** The files a pair could not sync, and when each is tried again. */
  failures(pairId: PairId): Promise<FailureDto[]> {
    return listFailures(pairId);
  }

  /** Shows a file a pair could not sync in the file manager (its folder if it is not here). */
  async revealFailure(pairId: PairId, path: string): Promise<void> {
    await this.#guard(() => revealFailure(pairId, path));
  }

  /** What a pair's last sync left out, and why. */
  ignored(pairId: PairId): Promise<IgnoredDto[]> {
    return listIgnored(pairId);
  }

  /** How much `excludes` would leave out of a pair; rejects with a CommandError naming a bad line. */
  previewExcludes(pairId: PairId, excludes: ExcludesDto): Promise<FilterPreviewDto> {
    return previewExcludes(pairId, excludes);
  }

  /** Saves a pair's mode and settings; rejects with a CommandError that says what to fix. */
  async updatePair(id: PairId, mode: ModeDto, settings: PairSettingsDto): Promise<PairDto> {
    const pair = await updatePair({ id, mode, settings });
    await this.load();
    return pair;
  }

  /** Syncs every pair now; the job list shows what started. */
  async syncAll(): Promise<void> {
    await this.#guard(async () => {
      await syncAll();
    });
  }

  /** Starts the demo remote; resolves with its pair's id, ready to sync. */
  async tryDemo(): Promise<number | null> {
    try {
      const demo = await addDemoRemote();
      await this.load();
      return demo.pair.id;
    } catch (reason) {
      this.error = reason as CommandError;
      return null;
    }
  }

  /** Tests and saves a remote; rejects with a CommandError that says what to fix. */
  async addRemote(form: RemoteForm): Promise<RemoteDto> {
    const remote = await addRemote(remoteArgs(form));
    await this.load();
    return remote;
  }

  /**
   * Signs in to Nextcloud in the browser: `started` hears the page to open (and the id to
   * cancel with) as soon as the server made it; resolves once access was granted and the
   * server saved with its app password (with `remoteId`: that server, signed in again).
   */
  async signIn(
    form: { url: string; name: string; pinSha256?: string; remoteId?: RemoteId },
    started: (loginUrl: string, loginId: number) => void,
  ): Promise<RemoteDto> {
    const flow = await beginLogin({ url: form.url, pinSha256: form.pinSha256 ?? null });
    started(flow.loginUrl, flow.loginId);
    const remote = await completeLogin({ loginId: flow.loginId, name: form.name, remoteId: form.remoteId ?? null });
    await this.load();
    return remote;
  }

  cancelSignIn(loginId: number): Promise<void> {
    return cancelLogin(loginId);
  }

  /** Tests and saves new settings; an empty password keeps the stored one. */
  async updateRemote(id: RemoteId, form: RemoteForm): Promise<RemoteDto> {
    const remote = await updateRemote({ id, ...remoteArgs(form) });
    await this.load();
    return remote;
  }

  async addPair(form: PairForm): Promise<PairDto> {
    const pair = await addPair(form);
    await this.load();
    return pair;
  }

  async removeRemote(id: RemoteId): Promise<void> {
    await this.#guard(() => removeRemote(id));
  }

  async removePair(id: PairId): Promise<void> {
    await this.#guard(() => removePair(id));
  }

  async #guard(work: () => Promise<void>): Promise<void> {
    try {
      await work();
      this.error = null;
    } catch (reason) {
      this.error = reason as CommandError;
    }
    await this.load();
  }
}
