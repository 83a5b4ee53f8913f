//! The consumer inbox: call [`claim`] inside the consumer's own transaction.
//! If it answers `false`, this consumer already processed the message (a
//! redelivery after a crash or a lost ack) and the handler must do nothing.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::bus_inbox;

/// Records that `consumer` processes `message_id`; `false` if it already did.
pub async fn claim(conn: &mut AsyncPgConnection, consumer: &str, message_id: Uuid) -> QueryResult<bool> {
    let inserted = diesel::insert_into(bus_inbox::table)
        .values((bus_inbox::consumer.eq(consumer), bus_inbox::message_id.eq(message_id)))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}
