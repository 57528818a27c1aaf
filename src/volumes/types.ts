// The Engine API's volume shapes (swagger: Volume, VolumeCreateOptions, VolumePruneResponse).

export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  Labels: Record<string, string>;
  Options: Record<string, string>;
  CreatedAt: string;
}

export interface Volume {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface VolumeCreateOptions {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** Docker's container `Mounts` entry (inspect), kept in the container record. */
export interface MountPoint {
  Type: 'volume' | 'bind' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/** The label Docker puts on volumes created for `-v /path` and image VOLUMEs. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
