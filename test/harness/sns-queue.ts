import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { eventually } from './fixtures';

const CREDS = { accessKeyId: 'drover-test', secretAccessKey: 'drover-test' };
let seq = 0;

/** One message as the subscribed queue received it: SNS's subject, and its message parsed as JSON. */
export interface Received<T> {
  subject: string;
  body: T;
}

/**
 * A new SNS topic in `region` of the emulator at `endpoint`, with an SQS queue subscribed to it (raw delivery off: each
 * body is SNS's envelope, whose TopicArn must be the topic's). `receive(min)` waits until at least `min` messages
 * arrived, polls once more (so more than expected shows), and returns every one so far in `order`.
 */
export async function subscribedTopic<T>(endpoint: string, region: string, order: (a: T, b: T) => number): Promise<{ topicArn: string; receive(min: number): Promise<Array<Received<T>>> }> {
  const sns = new SNSClient({ region, endpoint, credentials: CREDS });
  const sqs = new SQSClient({ region, endpoint, credentials: CREDS });
  const name = `drover-events-${process.pid}-${++seq}`;
  const topicArn = (await sns.send(new CreateTopicCommand({ Name: name }))).TopicArn ?? '';
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl ?? '';
  const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn ?? '';
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }));
  const got: Array<Received<T>> = [];
  const poll = async () => {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    for (const m of out.Messages ?? []) {
      const envelope = JSON.parse(m.Body ?? '{}') as { Subject: string; Message: string; TopicArn: string };
      if (envelope.TopicArn !== topicArn) throw new Error(`a message of topic ${envelope.TopicArn} on the queue of ${topicArn}`);
      got.push({ subject: envelope.Subject, body: JSON.parse(envelope.Message) as T });
    }
  };
  return {
    topicArn,
    async receive(min) {
      await eventually(async () => (await poll(), got.length >= min), `${min} messages on ${name}`, 20_000);
      await poll(); // and nothing more than expected
      return got.sort((a, b) => order(a.body, b.body));
    },
  };
}
