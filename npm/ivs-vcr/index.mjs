// ivs-vcr for JavaScript, as an ES module: the same objects as `index.cjs` (the implementation),
// so `instanceof` holds whether a suite imports or requires the package.

import ivsVcr from "./index.cjs";

export const {
  BIN_ENV,
  BinaryNotFoundError,
  CONTROL_PREFIX,
  ControlPlane,
  ControlPlaneError,
  ControlPlaneMissing,
  DEFAULT_REGION,
  DUMMY_CREDENTIALS,
  ENDPOINT_VARIABLES,
  Server,
  ServerError,
  binaryPath,
  platformPackage,
} = ivsVcr;
