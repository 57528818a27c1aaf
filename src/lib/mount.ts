// A mount as data, as containerd's mount.Mount: the snapshotter describes, the runtime mounts.
export interface Mount {
  /** Filesystem type: 'overlay', 'bind', 'tmpfs', ... */
  type: string;
  source: string;
  /** Options as mount(8) spells them: 'ro', 'rbind', 'lowerdir=a:b', 'upperdir=..', 'workdir=..' */
  options: string[];
}
