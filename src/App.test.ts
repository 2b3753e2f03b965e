import { afterEach, expect, test } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import App from "./App.svelte";
import JobCard from "./components/JobCard.svelte";
import { JobsState, JobView } from "./lib/jobs.svelte";
import { clearMocks, mockIPC } from "./lib/ipc/testing";
import type { JobSnapshotDto } from "$gen/ipc/JobSnapshotDto";

const INFO = { version: "9.8.7", platform: "android", arch: "aarch64", dataDir: "/data/user/0/app.tidesync" };

/** A backend with no remotes yet; `overrides` answer specific commands. */
function backend(overrides: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  mockIPC(
    (cmd, args) => {
      if (overrides[cmd]) return overrides[cmd](args as Record<string, unknown>);
      switch (cmd) {
        case "app_info":
          return INFO;
        case "list_remotes":
        case "list_pairs":
        case "list_jobs":
        case "job_history":
          return [];
        default:
          throw new Error(`unexpected ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
}

// Unmount first: the views stop listening while the mocked IPC still exists.
afterEach(() => {
  cleanup();
  clearMocks();
});

test("the first run offers the demo remote and adding a server", async () => {
  backend();
  render(App);
  expect(await screen.findByRole("button", { name: "Try the demo remote" })).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Add your server" })).toBeInTheDocument();
});

test("the about screen shows what app_info returns", async () => {
  backend();
  render(App);
  await fireEvent.click(await screen.findByRole("button", { name: "About" }));
  expect(await screen.findByText("9.8.7")).toBeInTheDocument();
  expect(screen.getByTestId("platform")).toHaveTextContent("android (aarch64)");
});

test("a refused login shows its message, its kind and what to fix", async () => {
  backend({
    add_remote: () => {
      throw { kind: "auth", message: "The server refused the user name or password. Check both and try again." };
    },
  });
  render(App);
  await fireEvent.click(await screen.findByRole("button", { name: "Add your server" }));
  await fireEvent.input(screen.getByTestId("remote-url"), { target: { value: "https://cloud.example/dav/" } });
  await fireEvent.input(screen.getByTestId("remote-user"), { target: { value: "alice" } });
  await fireEvent.input(screen.getByTestId("remote-password"), { target: { value: "wrong" } });
  await fireEvent.submit(screen.getByTestId("remote-form"));
  const alert = await screen.findByTestId("form-error");
  expect(alert).toHaveAttribute("data-kind", "auth");
  expect(alert).toHaveTextContent("refused the user name or password");
  expect(alert).toHaveTextContent("Check the user name and password.");
});

test("a refused certificate is shown and, once trusted, sent back by its fingerprint", async () => {
  const sha256 = "AB:CD:".repeat(15) + "AB:CD";
  const certificate = {
    sha256,
    subject: "CN=nas.home",
    issuer: "CN=nas.home",
    notBefore: 1_700_000_000,
    notAfter: 1_900_000_000,
    selfSigned: true,
  };
  const calls: Record<string, unknown>[] = [];
  backend({
    add_remote: (args) => {
      calls.push(args);
      if (!args.pinSha256) {
        throw { kind: "untrustedCertificate", message: "The server's certificate is not trusted.", certificate };
      }
      return { id: 1, name: "nas", url: "https://nas.home/dav/", user: null, serverKind: null, pinnedSha256: sha256 };
    },
  });
  render(App);
  await fireEvent.click(await screen.findByRole("button", { name: "Add your server" }));
  await fireEvent.input(screen.getByTestId("remote-url"), { target: { value: "https://nas.home/dav/" } });
  await fireEvent.submit(screen.getByTestId("remote-form"));
  expect(await screen.findByTestId("certificate-sha256")).toHaveTextContent(sha256);
  expect(screen.getByTestId("certificate")).toHaveTextContent("itself (self-signed)");
  expect(screen.getByTestId("form-error")).toHaveAttribute("data-kind", "untrustedCertificate");
  await fireEvent.click(screen.getByTestId("trust-certificate"));
  expect(await screen.findByTestId("form-ok")).toBeInTheDocument();
  expect(calls).toHaveLength(2);
  expect(calls[0].pinSha256).toBeUndefined();
  expect(calls[1].pinSha256).toBe(sha256);
});

function snapshot(overrides: Partial<JobSnapshotDto> = {}): JobSnapshotDto {
  return {
    jobId: 4,
    pairId: 1,
    state: "running",
    phase: "transferring",
    filesTotal: 10,
    filesDone: 3,
    bytesTotal: 4_000_000,
    bytesDone: 2_000_000,
    rate: 1_000_000,
    etaSecs: 2,
    inFlight: [{ path: "photos/big.jpg", bytesDone: 100, bytesTotal: 400 }],
    errors: 0,
    droppedEvents: 0,
    seq: 5,
    ...overrides,
  };
}

test("a job card draws everything from the snapshot", async () => {
  backend();
  const view = new JobView(snapshot());
  render(JobCard, { view, jobs: new JobsState(), title: "Demo remote" });
  expect(screen.getByTestId("job-state")).toHaveTextContent("Running · Transferring");
  expect(screen.getByRole("progressbar", { name: "Overall progress" })).toHaveAttribute("aria-valuenow", "50");
  expect(screen.getByTestId("job-bytes")).toHaveTextContent("2.0 MB of 4.0 MB");
  expect(screen.getByText("photos/big.jpg")).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Pause" })).toBeEnabled();
});

test("an older snapshot never overwrites a newer one, and the end shows what changed", async () => {
  backend();
  const view = new JobView(snapshot());
  render(JobCard, { view, jobs: new JobsState(), title: "Demo remote" });
  view.apply({ type: "snapshot", snapshot: snapshot({ seq: 3, bytesDone: 0 }) });
  expect(view.snapshot.bytesDone).toBe(2_000_000);
  view.apply({ type: "stateChanged", state: "completed" });
  view.apply({
    type: "finished",
    summary: {
      filesDownloaded: 9,
      filesUploaded: 0,
      bytesDownloaded: 4_000_000,
      bytesUploaded: 0,
      conflicts: 0,
      deletedLocal: 0,
      deletedRemote: 0,
      moved: 0,
      createdRemoteRoot: false,
      filesVerified: 8,
      errors: [{ path: "bad.txt", message: "the server's checksum does not match; it will be fetched again" }],
    },
  });
  expect(await screen.findByTestId("summary")).toHaveTextContent("9 downloaded");
  expect(screen.getByTestId("files-verified")).toHaveTextContent("8 files were checked against the server's checksum");
  expect(screen.getByText(/checksum does not match/)).toBeInTheDocument();
  expect(screen.getByTestId("job-state")).toHaveTextContent("Completed");
  expect(screen.queryByRole("button", { name: "Pause" })).not.toBeInTheDocument();
});

test("a failed job shows its error with its kind", async () => {
  backend();
  const view = new JobView(snapshot({ state: "failed" }));
  view.apply({ type: "failed", error: { kind: "network", message: "The server could not be reached." } });
  render(JobCard, { view, jobs: new JobsState(), title: "Demo remote" });
  const alert = screen.getByTestId("job-error");
  expect(alert).toHaveAttribute("data-kind", "network");
  expect(alert).toHaveTextContent("could not be reached");
});

test("editing a server sends its id and keeps the password when none is typed", async () => {
  const remote = { id: 3, name: "Cloud", url: "https://cloud.example/dav/", user: "alice", serverKind: "Nextcloud" };
  const updates: Record<string, unknown>[] = [];
  backend({
    list_remotes: () => [remote],
    update_remote: (args) => {
      updates.push(args);
      return { ...remote, name: args.name };
    },
  });
  render(App);
  await fireEvent.click(await screen.findByRole("button", { name: "Servers" }));
  await fireEvent.click(await screen.findByTestId("edit-remote"));
  expect(screen.getByTestId("remote-url")).toHaveValue("https://cloud.example/dav/");
  await fireEvent.input(screen.getByTestId("remote-name"), { target: { value: "Work" } });
  await fireEvent.submit(screen.getByTestId("remote-form"));
  expect(await screen.findByTestId("form-ok")).toHaveTextContent("Connected to Nextcloud.");
  expect(updates).toEqual([
    { id: 3, name: "Work", url: "https://cloud.example/dav/", user: "alice", password: null },
  ]);
});
