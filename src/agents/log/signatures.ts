import type { LogSignature } from '../findings.js';

/**
 * Well-known failure signatures: the phrases the kernel, PostgreSQL, systemd and common servers
 * print when a resource runs out. Each is evidence for a category, never proof on its own.
 */
const SIGNATURES: [LogSignature, RegExp][] = [
  ['out_of_memory', /out of memory|oom-kill|oom_reaper|invoked oom-killer|Killed process \d+|cannot allocate memory|MemoryError|ENOMEM/i],
  ['oom_kill', /Out of memory: Kill|Memory cgroup out of memory|invoked oom-killer|oom-kill:|oom_reaper: reaped|Killed process \d+ \(/i],
  ['too_many_open_files', /too many open files|\bEMFILE\b|\bENFILE\b|file table overflow|VFS: file-max limit \d+ reached|accept4?\(\) failed \(24:/i],
  ['process_limit', /fork(?:\(\))?: (?:retry: )?Resource temporarily unavailable|Cannot fork|can't start new thread|pthread_create\b.*(?:fail|EAGAIN|Resource temporarily unavailable)|unable to create (?:new native )?thread|max user processes|RLIMIT_NPROC|cgroup: fork rejected/i],
  ['config_error', /\[emerg\]|unknown directive|invalid (?:value|number of arguments|parameter)|configuration file .* (?:test failed|contains errors)|syntax error.*(?:conf|config)|could not (?:load|parse) (?:config|configuration)|FATAL:\s+(?:configuration file|invalid value for parameter|unrecognized configuration parameter)|Failed to start .*(?:config|configuration)/i],
  ['no_space_left', /no space left on device|ENOSPC|disk (?:is )?full|could not extend file|could not write to file|Disk quota exceeded/i],
  ['connection_refused', /connection refused|ECONNREFUSED|Connection reset by peer|actively refused/i],
  ['too_many_connections', /too many (?:clients|connections)|remaining connection slots are reserved|connection limit exceeded/i],
  ['network_unreachable', /network is unreachable|no route to host|EHOSTUNREACH|ENETUNREACH|packet loss/i],
  ['timeout', /\btimed? ?out\b|ETIMEDOUT|deadline exceeded/i],
  ['service_stopped', /\bStopped\b|Main process exited|Deactivated successfully|received signal to terminate|shutting down|exited with (?:code|status)|\bterminated\b/i],
  ['cpu_throttled', /soft lockup|hung_task|hung task|rcu_sched.*stall|cpu clock throttled|throttl/i],
  ['segfault', /segfault|core dumped|general protection/i],
];

export function matchSignatures(line: string): LogSignature[] {
  return SIGNATURES.filter(([, pattern]) => pattern.test(line)).map(([signature]) => signature);
}
