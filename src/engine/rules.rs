//! The rules every new order and amend meets, whatever matches it: the
//! live engine and the paper book of a replay (the paper module) apply the
//! same ones. Pure functions of the instrument, the reference price and
//! the best opposite price.

use super::{NewOrder, Reject, crosses};
use crate::instrument::Instrument;
use crate::types::{OrderType, Price, Qty, Side, TimeInForce};

/// Quantity positive and at most the instrument's maximum.
pub fn check_qty(instrument: &Instrument, qty: Qty) -> Result<(), Reject> {
    if qty.0 <= 0 || qty > instrument.max_qty {
        return Err(Reject::InvalidQty { qty });
    }
    Ok(())
}

/// A positive price within the instrument's band around `reference`.
pub fn check_band(instrument: &Instrument, price: Price, reference: Price) -> Result<(), Reject> {
    if price.0 <= 0 {
        return Err(Reject::InvalidPrice { price: Some(price) });
    }
    let band_ticks = instrument.band_ticks(reference);
    if (price.0 - reference.0).abs() > band_ticks {
        return Err(Reject::PriceOutOfBand {
            price,
            reference,
            band_ticks,
        });
    }
    Ok(())
}

/// Checks a new order and settles what it means: a market order becomes an
/// IOC (or FOK) without a price, limited to the edge of the band. Returns
/// the order as it will be accepted and its limit price.
pub fn check_new(
    instrument: &Instrument,
    mut order: NewOrder,
    reference: Price,
    best_opposite: Option<Price>,
) -> Result<(NewOrder, Price), Reject> {
    let limit = match order.order_type {
        OrderType::Limit => {
            let price = order.price.ok_or(Reject::InvalidPrice { price: None })?;
            if order.post_only && order.tif != TimeInForce::Gtc {
                return Err(Reject::PostOnlyNeedsGtcLimit);
            }
            check_band(instrument, price, reference)?;
            price
        }
        OrderType::Market => {
            if order.post_only {
                return Err(Reject::PostOnlyNeedsGtcLimit);
            }
            order.price = None;
            if order.tif == TimeInForce::Gtc {
                order.tif = TimeInForce::Ioc;
            }
            let band = instrument.band_ticks(reference);
            match order.side {
                Side::Buy => Price(reference.0 + band),
                Side::Sell => Price((reference.0 - band).max(1)),
            }
        }
    };
    check_qty(instrument, order.qty)?;
    if order.post_only
        && let Some(opposite) = best_opposite
        && crosses(order.side, limit, opposite)
    {
        return Err(Reject::PostOnlyWouldCross {
            price: limit,
            opposite,
        });
    }
    Ok((order, limit))
}
