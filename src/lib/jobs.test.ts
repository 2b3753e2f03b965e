import { afterEach, expect, test } from "vitest";
import type { JobSnapshotDto } from "$gen/ipc/JobSnapshotDto";
import { JobsState } from "./jobs.svelte";
import { clearMocks, emit, mockIPC, send } from "./ipc/testing";

function snapshot(state: JobSnapshotDto["state"], bytesDone = 0): JobSnapshotDto {
  return {
    jobId: 5,
    pairId: 1,
    state,
    phase: "transferring",
    filesTotal: 2,
    filesDone: 0,
    bytesTotal: 100,
    bytesDone,
    rate: 0,
    etaSecs: null,
    inFlight: [],
    errors: 0,
    droppedEvents: 0,
    seq: bytesDone,
  };
}

afterEach(() => clearMocks());

test("a job announced by jobs-changed while start_sync answers is followed through its own Channel", async () => {
  let startChannel: unknown;
  const attaches: number[] = [];
  mockIPC(
    async (cmd, args) => {
      const a = args as Record<string, unknown>;
      switch (cmd) {
        case "list_jobs":
        case "job_history":
          return [];
        case "start_sync":
          startChannel = a.onEvent;
          // The job exists and is announced before the command answers.
          await emit("jobs-changed", { jobId: 5, pairId: 1, state: "queued" });
          await new Promise((resolve) => setTimeout(resolve, 10));
          send(startChannel, { type: "snapshot", snapshot: snapshot("queued") });
          return 5;
        case "attach_job":
          attaches.push(a.jobId as number);
          return null;
        default:
          throw new Error(`unexpected ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
  const jobs = new JobsState();
  const stop = await jobs.connect();
  await jobs.start(1);
  await new Promise((resolve) => setTimeout(resolve, 10));
  send(startChannel, { type: "snapshot", snapshot: snapshot("running", 60) });
  expect(attaches).toEqual([]);
  expect(jobs.jobs.get(5)?.snapshot.bytesDone).toBe(60);
  stop();
});
