//! A fake DNS server on 127.0.0.1 for tests: a UDP socket on a thread that parses each query
//! with hickory-proto and sends whatever datagrams the test's responder returns.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::{RData, Record};

/// A running fake server; stopped and joined on drop.
pub struct FakeDns {
    pub addr: SocketAddr,
    /// Every query received, in order.
    pub queries: Arc<Mutex<Vec<Message>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeDns {
    /// Answers each query with the datagrams `respond` returns (none: stay silent).
    pub fn start(respond: impl Fn(&Message) -> Vec<Vec<u8>> + Send + 'static) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let queries = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let queries = Arc::clone(&queries);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut buffer = [0u8; 1500];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((len, peer)) = socket.recv_from(&mut buffer) else {
                        continue;
                    };
                    let query = Message::from_vec(&buffer[..len]).unwrap();
                    let datagrams = respond(&query);
                    // Record the query before answering: the test reads the record as soon
                    // as its answer arrives.
                    queries.lock().unwrap().push(query);
                    for datagram in datagrams {
                        socket.send_to(&datagram, peer).unwrap();
                    }
                }
            })
        };
        FakeDns {
            addr,
            queries,
            stop,
            thread: Some(thread),
        }
    }

    /// A server that answers every query correctly with `data`.
    pub fn answering(data: RData) -> Self {
        FakeDns::start(move |query| vec![answer(query, data.clone())])
    }

    /// A server that never answers.
    pub fn silent() -> Self {
        FakeDns::start(|_| Vec::new())
    }

    pub fn n_queries(&self) -> usize {
        self.queries.lock().unwrap().len()
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // Surface a panic of the server thread (a failed unwrap) in the test.
            if thread.join().is_err() && !thread::panicking() {
                panic!("fake dns server thread panicked");
            }
        }
    }
}

/// A correct reply to `query`: its id and question, one answer of the question's name and
/// class holding `data`.
pub fn answer(query: &Message, data: RData) -> Vec<u8> {
    let mut reply = reply_to(query, ResponseCode::NoError);
    let asked = &query.queries[0];
    let mut record = Record::from_rdata(asked.name().clone(), 0, data);
    record.dns_class = asked.query_class();
    reply.add_answer(record);
    reply.to_vec().unwrap()
}

/// An answerless reply to `query` with response code `code`.
pub fn reply_to(query: &Message, code: ResponseCode) -> Message {
    let mut reply = Message::response(query.metadata.id, OpCode::Query);
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.response_code = code;
    reply.add_queries(query.queries.iter().cloned());
    reply
}
