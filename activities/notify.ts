import type { SnsApi } from '../aws/clients';
import { aws } from '../aws/errors';

export interface NotifyInput {
  topicArn: string;
  /** The topic's region (the fourth field of its ARN). */
  region: string;
  subject: string;
  message: string;
}

/** SNS takes subjects "less than 100 characters long". */
const SUBJECT_MAX = 99;

/** Notifications to people (run events: approvals requested, escalations, failed steps, run ends), published to an SNS topic. */
export function createNotifyActivities(sns: (region: string) => SnsApi) {
  return {
    /** Publish one message. At least once: a retry after a lost answer may publish it twice. */
    async notify(input: NotifyInput): Promise<{ messageId?: string; requestId?: string }> {
      // "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100 characters
      // long" (SNS API Reference, Publish): printable ASCII, at most 99 characters, a cut one ending in "...".
      const flat = input.subject.replace(/[^\x20-\x7e]/g, ' ');
      const subject = flat.length <= SUBJECT_MAX ? flat : `${flat.slice(0, SUBJECT_MAX - 3)}...`;
      const out = await aws(`sns:Publish ${input.topicArn}`, () => sns(input.region).publish({ TopicArn: input.topicArn, Subject: subject, Message: input.message }));
      return { messageId: out.MessageId, requestId: out.$metadata.requestId };
    },
  };
}
