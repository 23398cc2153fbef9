// Drives Apache RocketMQ for Osprey's tests with the real Java clients: the remoting client
// (producer, push consumer, clustering or broadcasting) and the gRPC client through the proxy
// (producer, simple consumer, push consumer). Compiled once by scripts/rocketmq.sh.
//
//   Driver produce      --namesrv A --topic T --count N [--key K] [--tag T] [--queue Q] [--body B]
//                       [--group PG] [--hold] [--trace]
//   Driver push         --namesrv A --topic T --group G [--count N] [--broadcast] [--fail] [--trace]
//   Driver grpc-produce --proxy A --topic T --count N [--key K] [--tag T]
//   Driver grpc-simple  --proxy A --topic T --group G [--count N]
//   Driver grpc-push    --proxy A --topic T --group G [--count N]   (consumes everything; says
//                                                                     "done" once N arrived)
//
// Every command takes [--access-key K --secret-key S]. Output is one JSON object per line:
// {"sent":…} per message sent, {"consumed":N} each time a consumer's total grows, then
// {"done":…}. Consumers stay online (heartbeats, an open connection) until standard input
// closes, so a test sees them as online clients for as long as it holds the process.

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.SessionCredentialsProvider;
import org.apache.rocketmq.client.apis.StaticSessionCredentialsProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageBuilder;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.client.consumer.store.ReadOffsetType;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.remoting.protocol.heartbeat.MessageModel;

public final class Driver {
    private final Map<String, String> options = new HashMap<>();
    private final AtomicInteger consumed = new AtomicInteger();

    public static void main(String[] args) throws Exception {
        Driver driver = new Driver();
        for (int i = 1; i < args.length; i++) {
            String name = args[i].substring(2);
            boolean flag = i + 1 >= args.length || args[i + 1].startsWith("--");
            driver.options.put(name, flag ? "true" : args[++i]);
        }
        try {
            switch (args[0]) {
                case "produce" -> driver.produce();
                case "push" -> driver.push();
                case "grpc-produce" -> driver.grpcProduce();
                case "grpc-simple" -> driver.grpcSimple();
                case "grpc-push" -> driver.grpcPush();
                default -> throw new IllegalArgumentException("unknown command " + args[0]);
            }
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    private String option(String name) {
        String value = options.get(name);
        if (value == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return value;
    }

    private String option(String name, String otherwise) {
        return options.getOrDefault(name, otherwise);
    }

    private static void emit(String json) {
        System.out.println(json);
        System.out.flush();
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private RPCHook aclHook() {
        if (!options.containsKey("access-key")) {
            return null;
        }
        return new AclClientRPCHook(new SessionCredentials(option("access-key"), option("secret-key")));
    }

    private byte[] body(int i) {
        return option("body", "message-" + i).replace("{i}", Integer.toString(i))
            .getBytes(StandardCharsets.UTF_8);
    }

    /** Blocks until standard input closes: the process (and its client) stays online until then. */
    private static void holdUntilStdinCloses() throws Exception {
        InputStream in = System.in;
        while (in.read() != -1) {
            // Nothing to read: the test only closes the pipe (or kills the process).
        }
    }

    private void produce() throws Exception {
        // --trace: the client records a trace of each message in the brokers' trace topic.
        DefaultMQProducer producer = new DefaultMQProducer(
            option("group", "osprey-test-producer"), aclHook(), options.containsKey("trace"), null);
        producer.setNamesrvAddr(option("namesrv"));
        producer.setInstanceName("driver-" + ProcessHandle.current().pid());
        producer.start();
        String topic = option("topic");
        int count = Integer.parseInt(option("count"));
        // A name server on a loaded machine can fail a request now and then: ask again. A topic
        // with no route at all is one the broker creates on first send (autoCreateTopicEnable).
        List<MessageQueue> queues = List.of();
        for (int attempt = 1; attempt <= 3 && queues.isEmpty(); attempt++) {
            try {
                queues = new java.util.ArrayList<>(producer.fetchPublishMessageQueues(topic));
                Collections.sort(queues);
            } catch (Exception noRouteYet) {
                Thread.sleep(1000);
            }
        }
        for (int i = 0; i < count; i++) {
            Message message = new Message(topic, option("tag", ""), body(i));
            if (options.containsKey("key")) {
                message.setKeys(option("key") + "-" + i);
            }
            SendResult result;
            if (options.containsKey("queue")) {
                result = producer.send(message, queues.get(Integer.parseInt(option("queue"))));
            } else if (queues.isEmpty()) {
                result = producer.send(message);
            } else {
                result = producer.send(message, queues.get(i % queues.size()));
            }
            emit("{\"sent\":" + quote(result.getMsgId()) + ",\"offset_id\":" + quote(result.getOffsetMsgId())
                + ",\"broker\":" + quote(result.getMessageQueue().getBrokerName())
                + ",\"queue\":" + result.getMessageQueue().getQueueId()
                + ",\"queue_offset\":" + result.getQueueOffset() + "}");
        }
        emit("{\"done\":" + count + "}");
        if (options.containsKey("hold")) {
            holdUntilStdinCloses();
        }
        producer.shutdown();
    }

    private DefaultMQPushConsumer newPushConsumer() throws Exception {
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(option("group"), aclHook(),
            new AllocateMessageQueueAveragely(), options.containsKey("trace"), null);
        consumer.setNamesrvAddr(option("namesrv"));
        consumer.setInstanceName("driver-" + ProcessHandle.current().pid());
        consumer.subscribe(option("topic"), option("tag", "*"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.setPersistConsumerOffsetInterval(1000);
        if (options.containsKey("broadcast")) {
            consumer.setMessageModel(MessageModel.BROADCASTING);
        }
        if (options.containsKey("fail")) {
            // Straight to the dead-letter queue: no retries.
            consumer.setMaxReconsumeTimes(0);
        }
        return consumer;
    }

    private void push() throws Exception {
        boolean fail = options.containsKey("fail");
        int limit = Integer.parseInt(option("count", "-1"));
        MessageListenerConcurrently listener = (messages, context) -> {
            if (fail) {
                return ConsumeConcurrentlyStatus.RECONSUME_LATER;
            }
            for (MessageExt message : messages) {
                int total = consumed.incrementAndGet();
                emit("{\"consumed\":" + total + ",\"id\":" + quote(message.getMsgId()) + "}");
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
        // Starting asks the name server for the topic's route, which a loaded machine can fail
        // now and then; a consumer that failed to start cannot start again, so make a new one.
        DefaultMQPushConsumer consumer = null;
        for (int attempt = 1; consumer == null; attempt++) {
            DefaultMQPushConsumer candidate = newPushConsumer();
            candidate.registerMessageListener(listener);
            try {
                candidate.start();
                consumer = candidate;
            } catch (Exception e) {
                candidate.shutdown();
                if (attempt == 3) {
                    throw e;
                }
                Thread.sleep(2000);
            }
        }
        if (limit >= 0) {
            while (consumed.get() < limit) {
                Thread.sleep(50);
            }
            // Stop fetching but keep the client registered: suspend, let the messages in hand
            // finish, then persist offsets, so "done" means the broker holds the committed offset.
            consumer.suspend();
            awaitOffsetsInMemory(consumer, option("topic"));
            consumer.getDefaultMQPushConsumerImpl().persistConsumerOffset();
            emit("{\"done\":" + consumed.get() + "}");
        } else {
            emit("{\"started\":true}");
        }
        holdUntilStdinCloses();
        consumer.shutdown();
    }

    /** Waits (up to 20 s) until the offsets held in memory cover every message consumed. */
    private void awaitOffsetsInMemory(DefaultMQPushConsumer consumer, String topic)
            throws InterruptedException {
        var impl = consumer.getDefaultMQPushConsumerImpl();
        for (int i = 0; i < 400; i++) {
            long committed = 0;
            for (MessageQueue queue : impl.getRebalanceImpl().getProcessQueueTable().keySet()) {
                if (queue.getTopic().equals(topic)) {
                    committed += Math.max(0, impl.getOffsetStore().readOffset(queue,
                        ReadOffsetType.READ_FROM_MEMORY));
                }
            }
            if (committed >= consumed.get()) {
                return;
            }
            Thread.sleep(50);
        }
    }

    private ClientConfiguration grpcConfiguration() {
        var builder = ClientConfiguration.newBuilder().setEndpoints(option("proxy")).enableSsl(false)
            .setRequestTimeout(Duration.ofSeconds(30));
        if (options.containsKey("access-key")) {
            SessionCredentialsProvider credentials =
                new StaticSessionCredentialsProvider(option("access-key"), option("secret-key"));
            builder.setCredentialProvider(credentials);
        }
        return builder.build();
    }

    /** The gRPC consumers' one subscription: `--topic`, filtered by `--tag` (all by default). */
    private Map<String, FilterExpression> subscription() {
        FilterExpression filter = new FilterExpression(option("tag", "*"), FilterExpressionType.TAG);
        return Collections.singletonMap(option("topic"), filter);
    }

    private void grpcProduce() throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        String topic = option("topic");
        int count = Integer.parseInt(option("count"));
        try (Producer producer = provider.newProducerBuilder().setClientConfiguration(grpcConfiguration())
                .setTopics(topic).build()) {
            for (int i = 0; i < count; i++) {
                MessageBuilder message = provider.newMessageBuilder().setTopic(topic).setBody(body(i));
                if (options.containsKey("tag")) {
                    message.setTag(option("tag"));
                }
                if (options.containsKey("key")) {
                    message.setKeys(option("key") + "-" + i);
                }
                SendReceipt receipt = producer.send(message.build());
                emit("{\"sent\":" + quote(receipt.getMessageId().toString()) + "}");
            }
            emit("{\"done\":" + count + "}");
        }
    }

    private void grpcSimple() throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        int limit = Integer.parseInt(option("count", "-1"));
        try (SimpleConsumer consumer = provider.newSimpleConsumerBuilder()
                .setClientConfiguration(grpcConfiguration()).setConsumerGroup(option("group"))
                .setAwaitDuration(Duration.ofSeconds(2))
                .setSubscriptionExpressions(subscription()).build()) {
            while (limit < 0 || consumed.get() < limit) {
                int want = limit < 0 ? 16 : Math.min(16, limit - consumed.get());
                for (MessageView message : consumer.receive(want, Duration.ofSeconds(30))) {
                    consumer.ack(message);
                    int total = consumed.incrementAndGet();
                    emit("{\"consumed\":" + total + ",\"id\":" + quote(message.getMessageId().toString()) + "}");
                }
            }
            emit("{\"done\":" + consumed.get() + "}");
            holdUntilStdinCloses();
        }
    }

    private void grpcPush() throws Exception {
        ClientServiceProvider provider = ClientServiceProvider.loadService();
        int limit = Integer.parseInt(option("count", "-1"));
        try (PushConsumer consumer = provider.newPushConsumerBuilder()
                .setClientConfiguration(grpcConfiguration()).setConsumerGroup(option("group"))
                .setSubscriptionExpressions(subscription())
                .setMessageListener(message -> {
                    int total = consumed.incrementAndGet();
                    emit("{\"consumed\":" + total + ",\"id\":" + quote(message.getMessageId().toString()) + "}");
                    return ConsumeResult.SUCCESS;
                }).build()) {
            if (limit >= 0) {
                while (consumed.get() < limit) {
                    Thread.sleep(50);
                }
                emit("{\"done\":" + consumed.get() + "}");
            } else {
                emit("{\"started\":true}");
            }
            holdUntilStdinCloses();
        }
    }
}
