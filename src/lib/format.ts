/** Numbers as people read them. */

const UNITS = ["B", "KB", "MB", "GB", "TB"];

export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

export function duration(secs: number): string {
  if (secs < 60) return `${Math.max(1, Math.round(secs))} s`;
  const minutes = Math.floor(secs / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(secs % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function when(unixSecs: number): string {
  return new Date(unixSecs * 1000).toLocaleString();
}

const STATES: Record<string, string> = {
  queued: "Queued",
  running: "Running",
  suspended: "Suspended",
  paused: "Paused",
  interrupted: "Interrupted",
  completed: "Completed",
  cancelled: "Cancelled",
  failed: "Failed",
};

export function stateLabel(state: string): string {
  return STATES[state] ?? state;
}

const PHASES: Record<string, string> = {
  listing: "Listing",
  planning: "Planning",
  transferring: "Transferring",
  finishing: "Finishing",
};

export function phaseLabel(phase: string): string {
  return PHASES[phase] ?? phase;
}

export const MODES = {
  download: {
    label: "Download",
    explain: "Bring the server's files to this device. Files only on this device stay.",
  },
  upload: {
    label: "Upload",
    explain: "Back this folder up to the server. Files only on the server stay.",
  },
  twoWay: {
    label: "Two-way",
    explain: "Changes on either side reach the other. If both change a file, both versions are kept.",
  },
} as const;
