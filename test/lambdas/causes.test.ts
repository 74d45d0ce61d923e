import { Task } from '@aws-sdk/client-ecs';
import { Cause, classifyStoppedTask, placementFailure } from '../../lambdas/diagnose/causes';

const essential = new Set(['web']);
const task = (t: Partial<Task>): Task => ({ containers: [{ name: 'web' }, { name: 'sidecar' }], ...t });

describe('classifyStoppedTask', () => {
  const cases: [string, Partial<Task>, Cause, RegExp][] = [
    [
      'image tag not found',
      {
        stopCode: 'TaskFailedToStart',
        stoppedReason: 'CannotPullContainerError: failed to resolve ref docker.io/x:typo: not found',
      },
      'IMAGE_PULL',
      /tag does not exist/,
    ],
    [
      'registry refused',
      {
        stoppedReason:
          'CannotPullContainerError: ref pull has been retried 1 time(s): unexpected status code 403 Forbidden',
      },
      'IMAGE_PULL',
      /refused the credentials/,
    ],
    [
      'ECR unreachable',
      {
        stoppedReason:
          'ResourceInitializationError: unable to pull secrets or registry auth: The task cannot pull registry auth from Amazon ECR: There is a connection issue',
      },
      'IMAGE_PULL',
      /could not reach the registry/,
    ],
    [
      'SSM parameter missing',
      {
        stoppedReason:
          'ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: invalid parameters: /app/db',
      },
      'SECRETS',
      /secret or parameter/,
    ],
    [
      'EFS mount timeout',
      {
        stoppedReason:
          'ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: stderr: mount.nfs4: Connection timed out',
      },
      'EFS_MOUNT',
      /EFS volume could not be mounted/,
    ],
    [
      'no Fargate capacity',
      {
        stoppedReason:
          'Capacity is unavailable at this time. Please try again later or in a different availability zone',
      },
      'NO_CAPACITY',
      /could not find capacity/,
    ],
    [
      'OOM with a reason',
      {
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        containers: [
          { name: 'web', exitCode: 137, reason: 'OutOfMemoryError: Container killed due to memory usage' },
        ],
      },
      'OOM',
      /Container web was killed for using more memory/,
    ],
    [
      '137 without a reason',
      {
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: 'web', exitCode: 137 }],
      },
      'OOM',
      /SIGKILL/,
    ],
    [
      'container health check',
      { stoppedReason: 'Task failed container health checks' },
      'HEALTH_CHECK',
      /container health check kept failing/,
    ],
    [
      'ELB health check',
      { stoppedReason: 'Task failed ELB health checks in (target-group arn:...)' },
      'HEALTH_CHECK',
      /load balancer/,
    ],
    [
      'essential exit 1',
      {
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        containers: [
          { name: 'web', exitCode: 1 },
          { name: 'sidecar', exitCode: 0 },
        ],
      },
      'ESSENTIAL_EXIT',
      /Essential container web exited with code 1 \(a general application error\)/,
    ],
    [
      'essential exit 127',
      {
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: 'web', exitCode: 127 }],
      },
      'ESSENTIAL_EXIT',
      /command was not found/,
    ],
    [
      'deployment scale-in',
      {
        stopCode: 'ServiceSchedulerInitiated',
        stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/1)',
      },
      'STOPPED_BY_DEPLOYMENT',
      /on purpose/,
    ],
    [
      'StopTask',
      { stopCode: 'UserInitiated', stoppedReason: 'Task stopped by user' },
      'STOPPED_BY_USER',
      /StopTask/,
    ],
    ['nothing known', { stoppedReason: 'something odd' }, 'UNKNOWN', /did not report a known cause/],
  ];

  it.each(cases)('%s → %s', (_name, t, cause, hint) => {
    const result = classifyStoppedTask(task(t), essential);
    expect(result.cause).toBe(cause);
    expect(result.hint).toMatch(hint);
    expect(result.nextStep.length).toBeGreaterThan(20);
  });

  it('ignores a non-essential sidecar killed with 137', () => {
    const result = classifyStoppedTask(
      task({
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        containers: [
          { name: 'web', exitCode: 2 },
          { name: 'sidecar', exitCode: 137 },
        ],
      }),
      essential,
    );
    expect(result.cause).toBe('ESSENTIAL_EXIT');
    expect(result.hint).toMatch(/web exited with code 2/);
  });
});

describe('placementFailure', () => {
  it('spots service events about placement', () => {
    expect(
      placementFailure(
        '(service web) was unable to place a task because no container instance met all of its requirements.',
      ),
    ).toBe(true);
    expect(placementFailure('(service web) has reached a steady state.')).toBe(false);
  });
});

describe('exit code 137 after failed health checks', () => {
  it('is read as the health check, not memory', () => {
    const result = classifyStoppedTask(
      { stoppedReason: 'Task failed container health checks', containers: [{ name: 'web', exitCode: 137 }] },
      new Set(['web']),
    );
    expect(result.cause).toBe('HEALTH_CHECK');
  });
});
