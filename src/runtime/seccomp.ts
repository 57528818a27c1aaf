// The default seccomp filter: everything is allowed except the system calls Docker's default
// profile keeps from containers (kernel modules, clocks, keyrings, mounts, namespaces, reboot,
// raw I/O, ...), which fail with EPERM. A capability granted with --cap-add lifts the calls it
// stands for, as in Docker's profile; --privileged and `seccomp=unconfined` turn the filter off.

/** Calls denied unless the container holds the capability (undefined: always denied). */
const DENIED: Array<[string[], string | undefined]> = [
  [['mount', 'umount', 'umount2', 'unshare', 'setns', 'pivot_root', 'quotactl', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree', 'lookup_dcookie', 'name_to_handle_at'], 'CAP_SYS_ADMIN'],
  [['init_module', 'finit_module', 'delete_module'], 'CAP_SYS_MODULE'],
  [['settimeofday', 'stime', 'clock_settime', 'clock_adjtime'], 'CAP_SYS_TIME'],
  [['reboot', 'kexec_load', 'kexec_file_load'], 'CAP_SYS_BOOT'],
  [['iopl', 'ioperm'], 'CAP_SYS_RAWIO'],
  [['acct'], 'CAP_SYS_PACCT'],
  [['get_mempolicy', 'set_mempolicy', 'mbind', 'move_pages'], 'CAP_SYS_NICE'],
  [['open_by_handle_at'], 'CAP_DAC_READ_SEARCH'],
  [['syslog'], 'CAP_SYSLOG'],
  [['bpf'], 'CAP_BPF'],
  [['perf_event_open'], 'CAP_PERFMON'],
  [['add_key', 'request_key', 'keyctl', 'create_module', 'get_kernel_syms', 'query_module', 'nfsservctl', 'swapon', 'swapoff', 'sysfs', '_sysctl', 'uselib', 'userfaultfd', 'ustat', 'vm86', 'vm86old'], undefined],
];

const ARCHES: Record<string, string[]> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

export function defaultSeccomp(capabilities: string[]): Record<string, unknown> {
  const held = new Set(capabilities);
  const names = DENIED.filter(([, cap]) => !cap || !held.has(cap)).flatMap(([calls]) => calls);
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ARCHES[process.arch] ?? [],
    syscalls: [{ names, action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  };
}
