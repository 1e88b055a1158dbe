//! OPD purchasing: duties, approval, billing with tax withheld, the BAST, slips.

mod flow;
mod rules;
mod slips;
