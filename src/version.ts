/** The tool version, stated in every run's context. Keep equal to package.json. */
export const VERSION = "0.1.0";
