/**
 * The registry of followed jobs. A job's progress reaches this window through a Channel; a
 * Channel keeps "working" after a reload or a resume without anyone listening, so the registry
 * never trusts an old one: after every page load, on resume and when the page becomes visible
 * it lists the running jobs and attaches a new Channel to each. Each attach gets a generation
 * number and messages from an older generation are dropped, so a late message from a replaced
 * Channel can never overwrite what the new one said.
 */
import { FINAL_STATES } from "$gen/ipc/contract";
import type { JobId } from "$gen/ipc/JobId";
import type { JobSnapshotDto } from "$gen/ipc/JobSnapshotDto";
import type { PairId } from "$gen/ipc/PairId";
import type { SyncEvent } from "$gen/ipc/SyncEvent";
import { attachJob, listJobs, onLifecycle, onResumed, startSync } from "./index";

/** The states in which a job never changes again (generated from `JobState::is_final`). */
const FINAL: ReadonlySet<string> = new Set(FINAL_STATES);

export function isFinal(state: string): boolean {
  return FINAL.has(state);
}

export type JobEventHandler = (jobId: JobId, event: SyncEvent) => void;

export class Attachments {
  readonly #onEvent: JobEventHandler;
  /** The current generation per job; only its Channel's messages get through. */
  readonly #generations = new Map<JobId, number>();
  #next = 0;
  /** start_sync calls not answered yet: their job ids are unknown until they are. */
  readonly #starting = new Set<Promise<void>>();

  constructor(onEvent: JobEventHandler) {
    this.#onEvent = onEvent;
  }

  /** Whether this window follows `jobId` already. */
  follows(jobId: JobId): boolean {
    return this.#generations.has(jobId);
  }

  /**
   * Resolves once every start_sync in flight has answered. The backend attaches a started job's
   * Channel before start_sync answers, so an attach decided before that answer could reach the
   * backend first and be replaced by the start's own Channel while the page listens to it.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#starting]);
  }

  /** Follows `jobId` through a new Channel; the previous one of this job goes quiet. */
  async attach(jobId: JobId): Promise<void> {
    const generation = ++this.#next;
    this.#generations.set(jobId, generation);
    await attachJob(jobId, (event) => this.#deliver(jobId, generation, event));
  }

  /** Starts a sync of `pairId` and follows it; resolves with the job's id. */
  async start(pairId: PairId): Promise<JobId> {
    const generation = ++this.#next;
    // Messages can arrive before the id does: hold them until it is known.
    let jobId: JobId | null = null;
    const early: SyncEvent[] = [];
    // Marked before the call: the job may announce itself before startSync even returns.
    let answered = () => {};
    const pending = new Promise<void>((resolve) => (answered = resolve));
    this.#starting.add(pending);
    let id: JobId;
    try {
      id = await startSync(pairId, (event) => {
        if (jobId === null) early.push(event);
        else this.#deliver(jobId, generation, event);
      });
    } finally {
      this.#starting.delete(pending);
      answered();
    }
    jobId = id;
    // Someone may have attached to the job meanwhile (a jobs-changed event): the newer wins.
    if ((this.#generations.get(id) ?? 0) < generation) this.#generations.set(id, generation);
    for (const event of early) this.#deliver(id, generation, event);
    return id;
  }

  /** Lists the jobs and attaches a new Channel to each one still running. */
  async reattachAll(): Promise<JobSnapshotDto[]> {
    await this.settled();
    const jobs = await listJobs();
    await Promise.all(jobs.filter((job) => !isFinal(job.state)).map((job) => this.attach(job.jobId)));
    return jobs;
  }

  /**
   * Re-attaches whenever the page may have missed messages: when the app resumes (Tauri's
   * `tauri://resumed` and the app's own lifecycle event) and when the page becomes visible.
   * Returns a function that stops watching.
   */
  async watch(onReattached: (jobs: JobSnapshotDto[]) => void): Promise<() => void> {
    const again = () => {
      this.reattachAll().then(onReattached, () => {});
    };
    const onVisible = () => {
      if (document.visibilityState === "visible") again();
    };
    document.addEventListener("visibilitychange", onVisible);
    const unlisten = await Promise.all([
      onResumed(again),
      onLifecycle((hint) => {
        if (hint === "resume") again();
      }),
    ]);
    return () => {
      document.removeEventListener("visibilitychange", onVisible);
      for (const stop of unlisten) stop();
    };
  }

  #deliver(jobId: JobId, generation: number, event: SyncEvent): void {
    if (this.#generations.get(jobId) !== generation) return;
    this.#onEvent(jobId, event);
  }
}
