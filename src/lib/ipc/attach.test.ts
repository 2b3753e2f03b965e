import { afterEach, describe, expect, test } from "vitest";
import type { JobSnapshotDto } from "$gen/ipc/JobSnapshotDto";
import type { SyncEvent } from "$gen/ipc/SyncEvent";
import { Attachments } from "./attach";
import { channelId, clearMocks, emit, mockIPC, send } from "./testing";

function snapshot(jobId: number, state: JobSnapshotDto["state"], seq = 1): JobSnapshotDto {
  return {
    jobId,
    pairId: 1,
    state,
    phase: "transferring",
    filesTotal: 10,
    filesDone: 2,
    bytesTotal: 4_000_000,
    bytesDone: 1_000_000,
    rate: 500_000,
    etaSecs: 6,
    inFlight: [],
    errors: 0,
    droppedEvents: 0,
    seq,
  };
}

/** A backend with one running and one finished job that records every attach's Channel. */
function backend() {
  const attached: { jobId: number; channel: unknown }[] = [];
  mockIPC(
    (cmd, args) => {
      const a = args as Record<string, unknown>;
      if (cmd === "list_jobs") return [snapshot(7, "running"), snapshot(3, "completed")];
      if (cmd === "attach_job") {
        attached.push({ jobId: a.jobId as number, channel: a.onEvent });
        return null;
      }
      if (cmd === "start_sync") {
        send(a.onEvent, { type: "snapshot", snapshot: snapshot(9, "queued") });
        return 9;
      }
      throw new Error(`unexpected ${cmd}`);
    },
    { shouldMockEvents: true },
  );
  return attached;
}

function recorder() {
  const seen: [number, SyncEvent][] = [];
  const attachments = new Attachments((jobId, event) => seen.push([jobId, event]));
  return { seen, attachments };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => clearMocks());

describe("re-attaching", () => {
  test("a page load attaches a Channel to each running job only", async () => {
    const attached = backend();
    const { attachments } = recorder();
    const jobs = await attachments.reattachAll();
    expect(jobs.map((j) => j.jobId)).toEqual([7, 3]);
    expect(attached.map((a) => a.jobId)).toEqual([7]);
  });

  test("resume, the app's lifecycle event and becoming visible each attach a new Channel", async () => {
    const attached = backend();
    const { attachments } = recorder();
    await attachments.reattachAll();
    const stop = await attachments.watch(() => {});

    await emit("tauri://resumed");
    await tick();
    await emit("lifecycle", "resume");
    await tick();
    await emit("lifecycle", "suspend");
    await tick();
    Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
    await tick();

    expect(attached).toHaveLength(4);
    const ids = attached.map((a) => channelId(a.channel));
    expect(new Set(ids).size).toBe(4);
    stop();
    await emit("tauri://resumed");
    await tick();
    expect(attached).toHaveLength(4);
  });

  test("a late message from a replaced Channel is ignored", async () => {
    const attached = backend();
    const { seen, attachments } = recorder();
    await attachments.reattachAll();
    await attachments.reattachAll();
    const [old, current] = attached;
    send(old.channel, { type: "stateChanged", state: "cancelled" });
    send(current.channel, { type: "stateChanged", state: "running" });
    expect(seen).toEqual([[7, { type: "stateChanged", state: "running" }]]);
  });

  test("messages sent before start_sync answers reach the new job", async () => {
    backend();
    const { seen, attachments } = recorder();
    const id = await attachments.start(1);
    expect(id).toBe(9);
    expect(seen.map(([jobId, event]) => [jobId, event.type])).toEqual([[9, "snapshot"]]);
  });

  test("an attach made while start_sync is answering keeps the newest Channel", async () => {
    const attached: unknown[] = [];
    let startChannel: unknown;
    let attachments: Attachments;
    const seen: string[] = [];
    mockIPC(async (cmd, args) => {
      const a = args as Record<string, unknown>;
      if (cmd === "start_sync") {
        startChannel = a.onEvent;
        // The job announces itself before start_sync answers; the page attaches to it.
        await attachments.attach(9);
        return 9;
      }
      if (cmd === "attach_job") {
        attached.push(a.onEvent);
        return null;
      }
      throw new Error(`unexpected ${cmd}`);
    });
    attachments = new Attachments((_, event) => seen.push(event.type));
    await attachments.start(1);
    send(startChannel, { type: "fileFailed", path: "stale", message: "from the replaced channel" });
    send(attached[0], { type: "stateChanged", state: "running" });
    expect(seen).toEqual(["stateChanged"]);
  });
});
