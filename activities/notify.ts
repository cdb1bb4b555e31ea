import type { SnsApi } from '../aws/clients';
import { aws } from '../aws/errors';

export interface NotifyInput {
  topicArn: string;
  /** The topic's region (the fourth field of its ARN). */
  region: string;
  subject: string;
  message: string;
}

/** Notifications to people (run events: approvals requested, escalations, failed steps, run ends), published to an SNS topic. */
export function createNotifyActivities(sns: (region: string) => SnsApi) {
  return {
    /** Publish one message. At least once: a retry after a lost answer may publish it twice. */
    async notify(input: NotifyInput): Promise<{ messageId?: string; requestId?: string }> {
      // SNS subjects: at most 100 printable ASCII characters, no line breaks.
      const subject = input.subject.replace(/[^\x20-\x7e]/g, ' ').slice(0, 100);
      const out = await aws(`sns:Publish ${input.topicArn}`, () => sns(input.region).publish({ TopicArn: input.topicArn, Subject: subject, Message: input.message }));
      return { messageId: out.MessageId, requestId: out.$metadata.requestId };
    },
  };
}
