/**
 * What the sync screen shows: one view per job of this run of the app, drawn from the
 * snapshot each attach starts with and kept current by live events.
 */
import { SvelteMap } from "svelte/reactivity";
import {
  cancelJob,
  CommandError,
  jobHistory,
  onJobsChanged,
  pauseJob,
  resumeJob,
  type JobId,
  type JobRecordDto,
  type JobSnapshotDto,
  type JobStateDto,
  type PairId,
  type SummaryDto,
  type SyncEvent,
} from "./ipc";
import { Attachments, isFinal } from "./ipc/attach";
import type { IpcError } from "$gen/ipc/IpcError";

/** How many finished files a job card lists. */
const RECENT = 5;

export class JobView {
  snapshot = $state<JobSnapshotDto>() as JobSnapshotDto;
  recent = $state<string[]>([]);
  /** Files that failed so far, by path (a file failing again in a later pass is one entry). */
  failures = new SvelteMap<string, string>();
  summary = $state<SummaryDto | null>(null);
  error = $state<IpcError | null>(null);
  /** A button was pressed and its command has not answered yet. */
  busy = $state(false);

  state: JobStateDto = $derived(this.snapshot.state);
  final = $derived(isFinal(this.snapshot.state));
  /** 0..1 of the bytes, or of the files when there are no bytes to move. */
  progress = $derived.by(() => {
    const s = this.snapshot;
    if (s.state === "completed") return 1;
    if (s.bytesTotal > 0) return Math.min(1, s.bytesDone / s.bytesTotal);
    if (s.filesTotal > 0) return Math.min(1, s.filesDone / s.filesTotal);
    return 0;
  });

  constructor(snapshot: JobSnapshotDto) {
    this.snapshot = snapshot;
  }

  apply(event: SyncEvent): void {
    switch (event.type) {
      case "snapshot":
        // A newer attach may deliver an older snapshot than a live one already applied.
        if (event.snapshot.seq >= this.snapshot.seq || event.snapshot.jobId !== this.snapshot.jobId) {
          this.snapshot = event.snapshot;
        }
        break;
      case "stateChanged":
        this.snapshot = { ...this.snapshot, state: event.state };
        break;
      case "fileDone":
        this.recent = [event.path, ...this.recent].slice(0, RECENT);
        break;
      case "fileFailed":
        this.failures.set(event.path, event.message);
        break;
      case "finished":
        this.summary = event.summary;
        break;
      case "failed":
        this.error = event.error;
        break;
    }
  }
}

export class JobsState {
  jobs = new SvelteMap<number, JobView>();
  history = $state<JobRecordDto[]>([]);
  error = $state<CommandError | null>(null);
  /** True once this page follows job changes and resumes. */
  live = $state(false);
  readonly attachments = new Attachments((jobId, event) => this.#apply(jobId, event));

  /** Newest first. */
  list = $derived([...this.jobs.values()].sort((a, b) => b.snapshot.jobId - a.snapshot.jobId));
  running = $derived(this.list.filter((j) => !j.final));

  /**
   * Attaches to every running job (a page load), then keeps doing so after resumes and
   * visibility changes, and follows `jobs-changed` for jobs started elsewhere.
   */
  async connect(): Promise<() => void> {
    await this.#reattach();
    const stopWatching = await this.attachments.watch((jobs) => this.#adopt(jobs));
    const stopChanges = await onJobsChanged(async (change) => {
      // A job this page is starting announces itself before start_sync answers: wait for
      // the answer rather than attach a second Channel that could lose the race.
      await this.attachments.settled();
      const view = this.jobs.get(change.jobId);
      if (!view && !this.attachments.follows(change.jobId) && !isFinal(change.state)) {
        this.attachments.attach(change.jobId).catch((e) => (this.error = e as CommandError));
      } else if (view && view.state !== change.state) {
        view.apply({ type: "stateChanged", state: change.state });
      }
      if (isFinal(change.state)) this.loadHistory();
    });
    this.loadHistory();
    this.live = true;
    return () => {
      stopWatching();
      stopChanges();
    };
  }

  async start(pairId: PairId): Promise<void> {
    try {
      this.error = null;
      await this.attachments.start(pairId);
    } catch (reason) {
      this.error = reason as CommandError;
    }
  }

  async pause(view: JobView): Promise<void> {
    await this.#control(view, pauseJob);
  }

  async resume(view: JobView): Promise<void> {
    await this.#control(view, resumeJob);
  }

  async cancel(view: JobView): Promise<void> {
    await this.#control(view, cancelJob);
  }

  async loadHistory(): Promise<void> {
    try {
      this.history = await jobHistory();
    } catch (reason) {
      this.error = reason as CommandError;
    }
  }

  async #reattach(): Promise<void> {
    try {
      this.#adopt(await this.attachments.reattachAll());
    } catch (reason) {
      this.error = reason as CommandError;
    }
  }

  /** Shows jobs listed by the backend that this page has no view of yet (after a reload). */
  #adopt(jobs: JobSnapshotDto[]): void {
    for (const snapshot of jobs) {
      const view = this.jobs.get(snapshot.jobId);
      if (view) view.apply({ type: "snapshot", snapshot });
      else this.jobs.set(snapshot.jobId, new JobView(snapshot));
    }
  }

  #apply(jobId: JobId, event: SyncEvent): void {
    let view = this.jobs.get(jobId);
    if (!view) {
      if (event.type !== "snapshot") return;
      view = new JobView(event.snapshot);
      this.jobs.set(jobId, view);
    }
    view.apply(event);
  }

  async #control(view: JobView, command: (jobId: JobId) => Promise<void>): Promise<void> {
    view.busy = true;
    try {
      await command(view.snapshot.jobId);
    } catch (reason) {
      this.error = reason as CommandError;
    } finally {
      view.busy = false;
    }
  }
}
