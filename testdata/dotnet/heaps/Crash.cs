// Crash.cs - the `crash` scenario: sessions leak through a static event, then an unhandled exception kills the process.
// Owns: Heaps.MessageBus, Heaps.Session and the truths printed before the crash.
using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Heaps
{
    internal sealed class Message : EventArgs { public int Seq; public Message(int seq) { Seq = seq; } }

    internal static class MessageBus
    {
        public static event EventHandler<Message> Arrived;
        public static int Subscribers => Arrived?.GetInvocationList().Length ?? 0;
    }

    internal sealed class Session
    {
        public byte[] Buffer = new byte[256];
        public string User;
        public void OnArrived(object sender, Message m) { User = sender as string ?? User + m.Seq; }
    }

    internal static class Crash
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Fail() => throw new InvalidOperationException("session table full");

        public const int Sessions = 3000;

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Serve()
        {
            // every request opens a session that subscribes and is never closed
            for (int i = 0; i < Sessions; i++) {
                var s = new Session { User = "user" + i };
                MessageBus.Arrived += s.OnArrived;
            }
        }

        // onWorker: the unhandled exception is thrown on a new thread (as in a service's
        // request thread), else on the main thread.
        public static void Run(bool onWorker)
        {
            Serve();
            GC.Collect();
            Truth.Put("event", typeof(MessageBus).FullName + ".Arrived");
            Truth.Put("subscribers", MessageBus.Subscribers);
            Truth.Put("subscriber.type", typeof(Session).FullName);
            Truth.Put("count." + typeof(Session).FullName, Sessions);
            Truth.Put("root", typeof(MessageBus).FullName + ".Arrived");
            Truth.Put("exception", typeof(InvalidOperationException).FullName);
            Truth.Put("signal", 6);
            Truth.Put("crash pid", Environment.ProcessId);
            Console.Out.Flush();
            // the session table is full: nobody catches it
            if (!onWorker)
                Fail();
            var t = new Thread(Fail);
            t.Start();
            t.Join();
        }
    }
}
