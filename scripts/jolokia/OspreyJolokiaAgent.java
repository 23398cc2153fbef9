// A minimal Jolokia JVM agent for the tests: Debian ships Jolokia's core (libjolokia-core-java)
// but no agent, so this serves org.jolokia.http.HttpRequestHandler (read, search, list, bulk POST)
// through the JDK's own HTTP server on 127.0.0.1. Use: java -javaagent:osprey-jolokia.jar=port=N …
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.lang.instrument.Instrumentation;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.jolokia.backend.BackendManager;
import org.jolokia.config.ConfigKey;
import org.jolokia.config.Configuration;
import org.jolokia.http.HttpRequestHandler;
import org.jolokia.util.LogHandler;
import org.json.simple.JSONAware;

public final class OspreyJolokiaAgent {
    private static final String CONTEXT = "/jolokia";

    public static void premain(String args, Instrumentation instrumentation) throws Exception {
        int port = 8778;
        for (String pair : (args == null ? "" : args).split(",")) {
            if (pair.startsWith("port=")) {
                port = Integer.parseInt(pair.substring(5));
            }
        }
        LogHandler log = new LogHandler() {
            public void debug(String message) {}
            public void info(String message) {}
            public void error(String message, Throwable t) { System.err.println("jolokia: " + message); }
        };
        Configuration config = new Configuration(ConfigKey.AGENT_ID, "osprey-test-agent");
        HttpRequestHandler handler = new HttpRequestHandler(config, new BackendManager(config, log), log);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 16);
        server.createContext(CONTEXT, exchange -> answer(handler, exchange));
        server.setExecutor(null);
        server.start();
        System.err.println("jolokia agent on http://127.0.0.1:" + port + CONTEXT + "/");
    }

    private static void answer(HttpRequestHandler handler, HttpExchange exchange) {
        try {
            URI uri = exchange.getRequestURI();
            String path = uri.getPath().substring(CONTEXT.length());
            Map<String, String[]> params = new HashMap<>();
            JSONAware json = "POST".equals(exchange.getRequestMethod())
                ? handler.handlePostRequest(uri.toString(), exchange.getRequestBody(), "utf-8", params)
                : handler.handleGetRequest(uri.toString(), path, params);
            byte[] body = json.toJSONString().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        } catch (Throwable t) {
            try {
                byte[] body = handler.handleThrowable(t).toJSONString().getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(500, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            } catch (Exception ignored) {
                exchange.close();
            }
        }
    }
}
