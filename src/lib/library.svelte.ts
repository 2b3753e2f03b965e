/** The user's remotes and pairs, as the backend has them. */
import {
  addDemoRemote,
  addPair,
  addRemote,
  beginLogin,
  cancelLogin,
  CommandError,
  completeLogin,
  listPairs,
  listRemotes,
  removePair,
  removeRemote,
  updateRemote,
  type LocalFolderDto,
  type ModeDto,
  type PairDto,
  type PairId,
  type RemoteDto,
  type RemoteId,
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
