//! The journal applied again at start: each record does to its symbol
//! exactly what it did live (the same steps at the same clock, the same
//! client inputs at the same engine step), with the accounts booking the
//! same private events in the same order, so books, orders, positions,
//! private `seq`s and every stream's `seq` come back as they were. Nothing
//! is sent: there is nobody to send to yet.

use std::sync::Arc;

use crate::fanout::Outbox;
use crate::gateway::commands::RequestContext;
use crate::gateway::shared::Shared;
use crate::journal::Record;

use super::symbol::LiveSymbol;

impl LiveSymbol {
    /// Applies one journal record of this symbol again. An input the engine
    /// refuses now was accepted then: the journal does not match the
    /// snapshot or the configuration, which is an error.
    pub fn reapply(
        &mut self,
        shared: &Shared,
        record: &Record,
        nobody: &Arc<Outbox>,
    ) -> Result<(), String> {
        match record {
            Record::Turn { steps, now, .. } => {
                for _ in 0..*steps {
                    self.out.clear();
                    self.market.step_sim_at(*now, &mut self.out);
                    self.book_only(shared);
                }
            }
            Record::Client { input, .. } => {
                let account = input.account as usize;
                if account >= shared.accounts.len() {
                    return Err(format!(
                        "an order of account number {} of {} configured",
                        account + 1,
                        shared.accounts.len()
                    ));
                }
                self.out.clear();
                self.market
                    .apply(input.ts, &input.input, &mut self.out)
                    .map_err(|reject| {
                        format!(
                            "an accepted {} input is refused on replay ({}): the journal does not belong to this snapshot or configuration",
                            self.market.instrument().symbol,
                            reject.message(self.market.instrument())
                        )
                    })?;
                self.request = Some(RequestContext {
                    account,
                    conn: input.conn,
                    outbox: nobody.clone(),
                    id: None,
                    client_order_id: input.client_order_id.clone(),
                    done_reason: input.disconnected.then_some("disconnected"),
                    received: None,
                });
                self.book_only(shared);
                self.request = None;
            }
            Record::Heartbeat { .. } => self.heartbeat_seq += 1,
            Record::Skip { to, .. } => self.market.skip_sim_to(*to),
        }
        self.effects.clear();
        Ok(())
    }
}
