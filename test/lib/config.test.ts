import { ConfigError, parseConfig, resolveTargets } from '../../lib/config';

const valid = {
  services: {
    web: { cluster: 'prod', logGroups: ['/ecs/web'] },
    api: { cluster: 'prod', service: 'api-svc', containers: ['app'] },
  },
};

describe('parseConfig', () => {
  it('accepts a valid config and resolves service names to the key by default', () => {
    const targets = resolveTargets(parseConfig(valid, 'test.json'));
    expect(targets).toEqual([
      { name: 'web', cluster: 'prod', service: 'web', logGroups: ['/ecs/web'] },
      { name: 'api', cluster: 'prod', service: 'api-svc', containers: ['app'] },
    ]);
  });

  it.each([
    [{ services: {} }, /services: must name at least one service/],
    [{ services: { web: { cluster: 'bad name!' } } }, /services\.web\.cluster: must be an ECS cluster name/],
    [{ services: { web: {} } }, /services\.web\.cluster: is required/],
    [{ services: { web: { cluster: 'c', logGroup: '/x' } } }, /services\.web: unknown field\(s\) 'logGroup'/],
    [{ services: { 'we b': { cluster: 'c' } } }, /services\.we b: service keys are letters/],
    [
      {
        services: {
          web: { cluster: 'c', volumes: { data: { fileSystemId: 'fs-x', containerPath: '/data' } } },
        },
      },
      /services\.web\.volumes\.data\.fileSystemId: must be an EFS file system id/,
    ],
    [
      { services: { web: { cluster: 'c', logGroups: ['bad group name with spaces'] } } },
      /services\.web\.logGroups\.0: must be a CloudWatch Logs group name/,
    ],
  ])('names the field and the fix for %j', (raw, message) => {
    expect(() => parseConfig(raw, 'sidekick.config.json')).toThrow(ConfigError);
    expect(() => parseConfig(raw, 'sidekick.config.json')).toThrow(message);
  });

  it('lists every bad field, not only the first', () => {
    expect(() => parseConfig({ services: { a: {}, b: { cluster: '!' } } }, 'x.json')).toThrow(
      /services\.a\.cluster[\s\S]*services\.b\.cluster/,
    );
  });
});
