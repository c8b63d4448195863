'use strict';

// Lets `serverless package` run without AWS access (make validate, the infra tests in CI).
//
// Serverless v3 asks CloudFormation for the deployed stack while it compiles layers, so that an
// unchanged layer keeps its S3 key and no new layer version is published. Offline there is no
// stack to ask: with SLS_PACKAGE_OFFLINE=1 that lookup is skipped and the layer is packaged as
// new. `make deploy` never sets it, so deploys keep the lookup.
class PackageOffline {
  constructor(serverless) {
    this.hooks = {
      initialize: () => {
        if (process.env.SLS_PACKAGE_OFFLINE !== '1') return;
        const layers = serverless.pluginManager.plugins.find(
          (plugin) => plugin.constructor.name === 'AwsCompileLayers'
        );
        if (!layers) throw new Error('package-offline: the AwsCompileLayers plugin is missing');
        layers.compareWithLastLayer = async () => {};
      },
    };
  }
}

module.exports = PackageOffline;
