//! The bus against the machine's real RabbitMQ and PostgreSQL: the outbox
//! relay, the inbox, bounded retries and dead-lettering.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use akashi_bus::consumer::{self, ConsumerSpec};
use akashi_bus::{Bus, BusConfig, Envelope, HandlerError, IncomingMessage, Relay, inbox, outbox};
use akashi_model::messages::{AdminTokenRevoked, BusMessage};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use lapin::options::{BasicGetOptions, QueueDeleteOptions};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const PG: &str = "postgres://postgres@127.0.0.1:5432";
/// The test suite's own virtual host (`./scripts/test` recreates it);
/// `AKASHI_TEST_AMQP_URL` overrides it.
fn amqp() -> String {
    std::env::var("AKASHI_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/akashi-test".into())
}

struct Fixture {
    name: String,
    pool: akashi_db::PgPool,
    bus: Arc<Bus>,
}

impl Fixture {
    async fn new(max_deliveries: u32) -> anyhow::Result<Self> {
        // The consumer's own logs, shown by the test runner when a test fails.
        let _ = tracing_subscriber::fmt()
            .with_env_filter("akashi_bus=debug,info")
            .with_test_writer()
            .try_init();
        let name = format!("busit_{}", &Uuid::new_v4().simple().to_string()[..10]);
        let pool = akashi_db::prepare(&format!("{PG}/{name}"), vec![&akashi_bus::MIGRATIONS], 4).await?;
        let mut config = BusConfig::new(amqp());
        config.namespace = name.clone();
        config.max_deliveries = max_deliveries;
        config.retry_base_ms = 20;
        Ok(Self {
            name: name.clone(),
            pool,
            bus: Bus::new("bustest", config),
        })
    }

    async fn enqueue(&self, n: usize) -> anyhow::Result<Vec<Uuid>> {
        let mut conn = akashi_db::conn(&self.pool).await?;
        let envelopes: Vec<_> = (0..n)
            .map(|_| {
                Envelope::new(
                    "bustest",
                    AdminTokenRevoked {
                        token_id: Uuid::new_v4(),
                    },
                    Some("corr-1".into()),
                )
            })
            .collect();
        conn.transaction::<_, anyhow::Error, _>(async |conn| {
            for e in &envelopes {
                outbox::enqueue(conn, e).await?;
            }
            Ok(())
        })
        .await?;
        Ok(envelopes.iter().map(|e| e.id).collect())
    }

    async fn dead_lettered(&self) -> anyhow::Result<Vec<Uuid>> {
        let channel = self.bus.open_channel().await?;
        let mut ids = Vec::new();
        while let Some(message) = channel
            .basic_get(
                self.bus.topology().dead_letter_queue().into(),
                BasicGetOptions { no_ack: true },
            )
            .await?
        {
            let envelope: Envelope<serde_json::Value> = serde_json::from_slice(&message.delivery.data)?;
            ids.push(envelope.id);
        }
        Ok(ids)
    }

    /// Starts a consumer whose handler is `f`, and waits until its queue exists.
    async fn consume<F, Fut>(&self, f: F) -> anyhow::Result<CancellationToken>
    where
        F: Fn(IncomingMessage) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let stop = CancellationToken::new();
        tokio::spawn(consumer::run(
            self.bus.clone(),
            ConsumerSpec::new(AdminTokenRevoked::ROUTING_KEY),
            f,
            stop.clone(),
        ));
        let channel = self.bus.open_channel().await?;
        let queue = self.bus.topology().queue("bustest", AdminTokenRevoked::ROUTING_KEY);
        for _ in 0..100 {
            let passive = lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            // A consumer on the queue means it is declared *and* bound (the
            // consumer binds before it consumes).
            if let Ok(ch) = self.bus.open_channel().await
                && let Ok(q) = ch
                    .queue_declare(queue.clone().into(), passive, Default::default())
                    .await
                && q.consumer_count() > 0
            {
                return Ok(stop);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(channel);
        anyhow::bail!("consumer queue never appeared")
    }
}

/// Removes the fixture's queues, exchanges and database even when a test
/// fails half-way (Drop cannot await: a short-lived runtime on its own thread).
impl Drop for Fixture {
    fn drop(&mut self) {
        let name = self.name.clone();
        let topology = akashi_bus::topology::Topology::new(&name);
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(connection) =
                    lapin::Connection::connect(&amqp(), lapin::ConnectionProperties::default()).await
                    && let Ok(channel) = connection.create_channel().await
                {
                    for q in [
                        topology.queue("bustest", AdminTokenRevoked::ROUTING_KEY),
                        topology.dead_letter_queue(),
                    ] {
                        let _ = channel.queue_delete(q.into(), QueueDeleteOptions::default()).await;
                    }
                    for x in [topology.events_exchange(), topology.dead_letter_exchange()] {
                        let _ = channel.exchange_delete(x.into(), Default::default()).await;
                    }
                    let _ = tokio::time::timeout(Duration::from_secs(2), connection.close(200, "done".into())).await;
                }
                if let Ok(mut conn) = AsyncPgConnection::establish(&format!("{PG}/postgres")).await {
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_publishes_committed_messages_once_and_marks_them() -> anyhow::Result<()> {
    let fx = Fixture::new(5).await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let stop = fx
        .consume(move |m: IncomingMessage| {
            let tx = tx.clone();
            async move {
                let _: AdminTokenRevoked = m.data()?;
                tx.send((
                    m.envelope.id,
                    m.envelope.event_type.clone(),
                    m.envelope.correlationid.clone(),
                ))
                .unwrap();
                Ok(())
            }
        })
        .await?;
    let ids = fx.enqueue(3).await?;
    let relay = Relay::new(fx.pool.clone(), fx.bus.clone());
    assert_eq!(relay.pending().await?, 3);
    assert_eq!(relay.relay_once().await?, 3);
    assert_eq!(relay.pending().await?, 0, "confirmed messages are marked sent");
    assert_eq!(relay.relay_once().await?, 0, "and never published again");
    let mut got = Vec::new();
    for _ in 0..3 {
        let (id, kind, corr) = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await?.unwrap();
        assert_eq!(kind, "dev.akashi.admin.token.revoked.v1");
        assert_eq!(corr.as_deref(), Some("corr-1"), "the correlation id travels");
        got.push(id);
    }
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), rx.recv())
            .await
            .is_err(),
        "nothing more"
    );
    stop.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_nobody_can_receive_yet_waits_in_the_outbox() -> anyhow::Result<()> {
    let fx = Fixture::new(5).await?;
    let relay = Relay::new(fx.pool.clone(), fx.bus.clone());
    let ids = fx.enqueue(1).await?;
    // No consumer has declared its queue: the exchange routes the message
    // nowhere, the broker returns it, and it must not count as published.
    assert_eq!(relay.relay_once().await?, 0);
    assert_eq!(relay.pending().await?, 1, "still pending");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let stop = fx
        .consume(move |m: IncomingMessage| {
            let tx = tx.clone();
            async move {
                tx.send(m.envelope.id).unwrap();
                Ok(())
            }
        })
        .await?;
    assert_eq!(relay.relay_once().await?, 1, "published once a queue is bound");
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(10), rx.recv()).await?.unwrap(),
        ids[0]
    );
    stop.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_does_not_wedge_its_message() -> anyhow::Result<()> {
    let fx = Fixture::new(5).await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let stop = fx
        .consume(move |m: IncomingMessage| {
            let tx = tx.clone();
            async move {
                // Cross an await before deciding, as real handlers do, so the
                // task may resume on another worker thread.
                tokio::task::yield_now().await;
                if m.delivery_count == 1 {
                    panic!("a bug in the handler");
                }
                tx.send(m.delivery_count).unwrap();
                Ok(())
            }
        })
        .await?;
    fx.enqueue(1).await?;
    Relay::new(fx.pool.clone(), fx.bus.clone()).relay_once().await?;
    let delivered = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await?.unwrap();
    assert_eq!(delivered, 2, "redelivered after the panic, and handled");
    stop.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_transaction_publishes_nothing() -> anyhow::Result<()> {
    let fx = Fixture::new(5).await?;
    let mut conn = akashi_db::conn(&fx.pool).await?;
    let result = conn
        .transaction::<(), anyhow::Error, _>(async |conn| {
            let e = Envelope::new(
                "bustest",
                AdminTokenRevoked {
                    token_id: Uuid::new_v4(),
                },
                None,
            );
            outbox::enqueue(conn, &e).await?;
            anyhow::bail!("the state change failed")
        })
        .await;
    assert!(result.is_err());
    let relay = Relay::new(fx.pool.clone(), fx.bus.clone());
    assert_eq!(relay.pending().await?, 0);
    assert_eq!(relay.relay_once().await?, 0);
    drop(conn);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_recognises_a_message_per_consumer() -> anyhow::Result<()> {
    let fx = Fixture::new(5).await?;
    let mut conn = akashi_db::conn(&fx.pool).await?;
    let id = Uuid::new_v4();
    assert!(inbox::claim(&mut conn, "svc.a", id).await?, "first delivery is new");
    assert!(!inbox::claim(&mut conn, "svc.a", id).await?, "redelivery is recognised");
    assert!(
        inbox::claim(&mut conn, "svc.b", id).await?,
        "another consumer processes it on its own"
    );
    // A claim rolled back with its transaction is not remembered.
    let other = Uuid::new_v4();
    let _ = conn
        .transaction::<(), anyhow::Error, _>(async |conn| {
            inbox::claim(conn, "svc.a", other).await?;
            anyhow::bail!("handler failed")
        })
        .await;
    assert!(
        inbox::claim(&mut conn, "svc.a", other).await?,
        "a failed attempt can be retried"
    );
    drop(conn);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_then_dead_lettered() -> anyhow::Result<()> {
    let fx = Fixture::new(3).await?;
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let stop = fx
        .consume(move |_m| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Err(HandlerError::transient("database unavailable"))
            }
        })
        .await?;
    let ids = fx.enqueue(1).await?;
    Relay::new(fx.pool.clone(), fx.bus.clone()).relay_once().await?;
    let mut dead = Vec::new();
    for _ in 0..100 {
        dead = fx.dead_lettered().await?;
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dead, ids, "dead-lettered after its deliveries ran out");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        AtomicU32::load(&calls, Ordering::SeqCst),
        3,
        "delivered exactly max_deliveries times"
    );
    stop.cancel();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_dead_letter_at_once_and_transient_ones_can_recover() -> anyhow::Result<()> {
    let fx = Fixture::new(5).await?;
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let stop = fx
        .consume(move |m: IncomingMessage| {
            let counter = counter.clone();
            let tx = tx.clone();
            async move {
                let data: AdminTokenRevoked = m.data()?;
                let n = counter.fetch_add(1, Ordering::SeqCst);
                // The first message is poison; the second fails twice, then succeeds.
                if data.token_id.as_u128().is_multiple_of(2) {
                    return Err(HandlerError::permanent("cannot be processed"));
                }
                if m.delivery_count < 3 {
                    return Err(HandlerError::transient(format!("try {n}")));
                }
                tx.send(m.delivery_count).unwrap();
                Ok(())
            }
        })
        .await?;
    let mut conn = akashi_db::conn(&fx.pool).await?;
    let poison = Envelope::new(
        "bustest",
        AdminTokenRevoked {
            token_id: Uuid::from_u128(2),
        },
        None,
    );
    let flaky = Envelope::new(
        "bustest",
        AdminTokenRevoked {
            token_id: Uuid::from_u128(3),
        },
        None,
    );
    outbox::enqueue(&mut conn, &poison).await?;
    outbox::enqueue(&mut conn, &flaky).await?;
    drop(conn);
    Relay::new(fx.pool.clone(), fx.bus.clone()).relay_once().await?;
    let delivered_on = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await?.unwrap();
    assert_eq!(delivered_on, 3, "succeeded on its third delivery");
    let mut dead = Vec::new();
    for _ in 0..50 {
        dead = fx.dead_lettered().await?;
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(dead, vec![poison.id], "only the poison message is dead-lettered");
    assert_eq!(
        AtomicU32::load(&calls, Ordering::SeqCst),
        4,
        "poison once, flaky three times"
    );
    stop.cancel();
    Ok(())
}
