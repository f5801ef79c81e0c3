/**
 * The event types (src/domain/event.ts), in a module without dependencies so that the web
 * dashboard can import the list without pulling zod into its bundle.
 */
export const EVENT_TYPES = [
  'MISSED_SCHEDULED_RUN',
  'MISSING_HEARTBEAT',
  'FAILED_TO_START',
  'EXECUTION_FAILED',
  'EXECUTION_TIMED_OUT',
  'EXECUTION_ABANDONED',
  'WORKFLOW_FAILED',
  'SERVICE_BELOW_DESIRED_COUNT',
  'RESOLVED',
] as const;
