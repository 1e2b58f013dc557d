package io.cascadesfu.core.media;

/** The package-private resend budget, for tests in other packages. */
public final class SimpleConsumerBudget {
    public static final int MIN_RESEND_BYTES = SimpleConsumer.MIN_RESEND_BYTES_PER_SECOND;

    private SimpleConsumerBudget() {
    }
}
