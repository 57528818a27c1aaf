// berth's version, shown by `berth version`, `/version` and the Server header.
export const BERTH_VERSION = '0.1.0';
