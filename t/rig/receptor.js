'use strict';
// The test receptor: a real Node.js Lambda handler run by serverless-offline.
// It appends every event it receives, as one JSON line with the time it was
// received, to the file named by RECEPTOR_OUT (set via serverless.yml, since
// handlers do not inherit the caller's environment). Tests read that file.
const fs = require('fs');

function record(fn) {
  return async (event, context) => {
    const line = JSON.stringify({
      fn,
      receivedAt: Date.now(),
      requestId: context && context.awsRequestId,
      event,
    }) + '\n';
    // One write(2) per line with O_APPEND: lines of parallel invocations never interleave.
    fs.appendFileSync(process.env.RECEPTOR_OUT, line);
    return { ok: true };
  };
}

// One handler per function of serverless.yml, so each record names the
// function (and so the doser) it came through.
exports.receptor = record('receptor');
exports.receptorArn = record('receptor-arn');
exports.receptorFail = record('receptor-fail');
exports.receptorReload = record('receptor-reload');
exports.receptorHold = record('receptor-hold');
exports.receptorRun = record('receptor-run');
