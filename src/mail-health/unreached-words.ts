/**
 * The words of a mail failure in which no SMTP server answered, or one that greeted stopped
 * answering without a word (contract.ts Unreached), for the mail-health emails: their reader is
 * told, in their own language, that this is Tocsin's last error rather than a reply of the server,
 * why it happened, then the technical detail in Node's own words. Tocsin's English sentence
 * (classify.ts) stays what the API shows.
 */
import { UNREACHED_CAUSES, type Unreached, type UnreachedCause } from '../delivery/contract.js';
import type { Language } from '../i18n/languages.js';

// French puts a narrow no-break space (U+202F) before « : ».
const NNBSP = '\u202f';

interface Words {
  /** The label of the line, in the notice ("The last error"), in place of "The server's last reply". */
  readonly label: string;
  readonly causes: Record<UnreachedCause, string>;
}

/** UNREACHED_WORDS explain each cause in each language, shortly: the notice links to the settings. */
const UNREACHED_WORDS: Record<Language, Words> = {
  en: {
    label: 'The last error',
    causes: {
      refused: 'the server refused the connection: nothing takes connections on this host and port (check the host, the port and the firewall)',
      'no-route': "Tocsin's machine has no route to this address (check the host, and this machine's network or firewall)",
      'dns-unknown': 'the SMTP host name does not exist in DNS (check its spelling)',
      'dns-temporary': 'the SMTP host name could not be resolved for now (the DNS server failed or did not answer)',
      'connect-timeout': 'nothing answered the connection in time (the host or the port may be wrong, or a firewall drops it)',
      'greeting-timeout': 'the port took the connection, but no SMTP server greeted in time',
      'handshake-timeout': 'the port took the connection, but did not complete a TLS handshake in time',
      certificate: "the server's certificate could not be verified",
      'plain-server':
        'the server does not speak TLS from the first byte on this port: it expects STARTTLS or no TLS (usually port 587 with STARTTLS, 465 with TLS)',
      'old-tls': 'the server offers no TLS version Tocsin accepts (TLS 1.2 or later)',
      'tls-hang-up': 'the server closed the connection during the TLS handshake',
      'closed-before-greeting': 'the server closed the connection before its SMTP greeting',
      'implicit-tls': 'the server on this port expects TLS from the first byte, and sent no SMTP greeting without it (choose TLS, usually with port 465)',
      'reply-timeout': 'the server greeted, then gave no answer in time',
      'message-unanswered': 'the server took the whole message, then gave no answer to its end in time (the email may still arrive)',
      'message-unread': 'the server asked for the message, then stopped reading it before its end',
      'closed-unanswered': 'the server greeted, then closed the connection without answering',
      'upgrade-timeout': 'the server agreed to start TLS (STARTTLS), then did not complete a TLS handshake in time',
      'starttls-hang-up': 'the server agreed to start TLS (STARTTLS), then closed the connection during the handshake',
      'starttls-not-tls': 'the server agreed to start TLS (STARTTLS), then did not speak TLS',
    },
  },
  fr: {
    label: 'Dernière erreur',
    causes: {
      refused: `le serveur a refusé la connexion${NNBSP}: rien n’accepte de connexion sur cet hôte et ce port (vérifiez l’hôte, le port et le pare-feu)`,
      'no-route': 'la machine de Tocsin n’a aucune route vers cette adresse (vérifiez l’hôte, et le réseau ou le pare-feu de cette machine)',
      'dns-unknown': 'le nom d’hôte SMTP n’existe pas dans le DNS (vérifiez son orthographe)',
      'dns-temporary': 'le nom d’hôte SMTP n’a pas pu être résolu pour l’instant (le serveur DNS a échoué ou n’a pas répondu)',
      'connect-timeout': 'rien n’a répondu à la connexion à temps (l’hôte ou le port est peut-être erroné, ou un pare-feu la bloque)',
      'greeting-timeout': 'le port a accepté la connexion, mais aucun serveur SMTP n’a envoyé son accueil à temps',
      'handshake-timeout': 'le port a accepté la connexion, mais n’a pas terminé de négociation TLS à temps',
      certificate: 'le certificat du serveur n’a pas pu être vérifié',
      'plain-server': `le serveur ne parle pas TLS dès le premier octet sur ce port${NNBSP}: il attend STARTTLS ou aucun TLS (en général le port 587 avec STARTTLS, 465 avec TLS)`,
      'old-tls': 'le serveur ne propose aucune version de TLS acceptée par Tocsin (TLS 1.2 ou ultérieure)',
      'tls-hang-up': 'le serveur a fermé la connexion pendant la négociation TLS',
      'closed-before-greeting': 'le serveur a fermé la connexion avant son accueil SMTP',
      'implicit-tls':
        'le serveur de ce port attend TLS dès le premier octet et n’a envoyé aucun accueil SMTP sans lui (choisissez TLS, en général avec le port 465)',
      'reply-timeout': 'le serveur a accueilli la connexion, puis n’a pas répondu à temps',
      'message-unanswered': 'le serveur a reçu le message entier, puis n’a pas répondu à sa fin à temps (l’e-mail peut encore arriver)',
      'message-unread': 'le serveur a demandé le message, puis a cessé de le lire avant sa fin',
      'closed-unanswered': 'le serveur a accueilli la connexion, puis l’a fermée sans répondre',
      'upgrade-timeout': 'le serveur a accepté de passer en TLS (STARTTLS), puis n’a pas terminé la négociation TLS à temps',
      'starttls-hang-up': 'le serveur a accepté de passer en TLS (STARTTLS), puis a fermé la connexion pendant la négociation',
      'starttls-not-tls': 'le serveur a accepté de passer en TLS (STARTTLS), puis n’a pas parlé TLS',
    },
  },
  de: {
    label: 'Letzter Fehler',
    causes: {
      refused: 'der Server hat die Verbindung abgelehnt: auf diesem Host und Port nimmt nichts Verbindungen an (prüfen Sie Host, Port und Firewall)',
      'no-route': 'der Rechner von Tocsin hat keine Route zu dieser Adresse (prüfen Sie den Host und das Netzwerk oder die Firewall dieses Rechners)',
      'dns-unknown': 'den SMTP-Hostnamen gibt es im DNS nicht (prüfen Sie die Schreibweise)',
      'dns-temporary': 'der SMTP-Hostname konnte vorerst nicht aufgelöst werden (der DNS-Server ist fehlgeschlagen oder hat nicht geantwortet)',
      'connect-timeout': 'nichts hat die Verbindung rechtzeitig angenommen (Host oder Port sind vielleicht falsch, oder eine Firewall verwirft sie)',
      'greeting-timeout': 'der Port hat die Verbindung angenommen, aber kein SMTP-Server hat rechtzeitig gegrüßt',
      'handshake-timeout': 'der Port hat die Verbindung angenommen, aber keinen TLS-Handshake rechtzeitig abgeschlossen',
      certificate: 'das Zertifikat des Servers konnte nicht überprüft werden',
      'plain-server':
        'der Server spricht auf diesem Port nicht vom ersten Byte an TLS: er erwartet STARTTLS oder kein TLS (meist Port 587 mit STARTTLS, 465 mit TLS)',
      'old-tls': 'der Server bietet keine TLS-Version an, die Tocsin akzeptiert (TLS 1.2 oder neuer)',
      'tls-hang-up': 'der Server hat die Verbindung während des TLS-Handshakes geschlossen',
      'closed-before-greeting': 'der Server hat die Verbindung vor seiner SMTP-Begrüßung geschlossen',
      'implicit-tls':
        'der Server auf diesem Port erwartet vom ersten Byte an TLS und hat ohne TLS keine SMTP-Begrüßung gesendet (wählen Sie TLS, meist mit Port 465)',
      'reply-timeout': 'der Server hat gegrüßt, dann aber nicht rechtzeitig geantwortet',
      'message-unanswered': 'der Server hat die ganze E-Mail erhalten, dann aber nicht rechtzeitig auf ihr Ende geantwortet (die E-Mail kann noch ankommen)',
      'message-unread': 'der Server hat die E-Mail angefordert, dann aber vor ihrem Ende aufgehört, sie zu lesen',
      'closed-unanswered': 'der Server hat gegrüßt, dann aber die Verbindung ohne Antwort geschlossen',
      'upgrade-timeout': 'der Server hat dem Wechsel zu TLS (STARTTLS) zugestimmt, dann aber keinen TLS-Handshake rechtzeitig abgeschlossen',
      'starttls-hang-up': 'der Server hat dem Wechsel zu TLS (STARTTLS) zugestimmt, dann aber die Verbindung während des Handshakes geschlossen',
      'starttls-not-tls': 'der Server hat dem Wechsel zu TLS (STARTTLS) zugestimmt, dann aber kein TLS gesprochen',
    },
  },
  es: {
    label: 'Último error',
    causes: {
      refused: 'el servidor rechazó la conexión: nada acepta conexiones en este host y puerto (revise el host, el puerto y el cortafuegos)',
      'no-route': 'la máquina de Tocsin no tiene ruta hacia esta dirección (revise el host, y la red o el cortafuegos de esta máquina)',
      'dns-unknown': 'el nombre del host SMTP no existe en el DNS (revise cómo está escrito)',
      'dns-temporary': 'el nombre del host SMTP no se pudo resolver por ahora (el servidor DNS falló o no respondió)',
      'connect-timeout': 'nada respondió a la conexión a tiempo (el host o el puerto pueden ser incorrectos, o un cortafuegos la descarta)',
      'greeting-timeout': 'el puerto aceptó la conexión, pero ningún servidor SMTP envió su saludo a tiempo',
      'handshake-timeout': 'el puerto aceptó la conexión, pero no completó un protocolo de enlace TLS a tiempo',
      certificate: 'no se pudo verificar el certificado del servidor',
      'plain-server':
        'el servidor no habla TLS desde el primer byte en este puerto: espera STARTTLS o ningún TLS (normalmente el puerto 587 con STARTTLS, 465 con TLS)',
      'old-tls': 'el servidor no ofrece ninguna versión de TLS que Tocsin acepte (TLS 1.2 o posterior)',
      'tls-hang-up': 'el servidor cerró la conexión durante el protocolo de enlace TLS',
      'closed-before-greeting': 'el servidor cerró la conexión antes de su saludo SMTP',
      'implicit-tls': 'el servidor de este puerto espera TLS desde el primer byte y no envió su saludo SMTP sin él (elija TLS, normalmente con el puerto 465)',
      'reply-timeout': 'el servidor envió su saludo, pero luego no respondió a tiempo',
      'message-unanswered': 'el servidor recibió el mensaje entero, pero luego no respondió a tiempo a su final (el correo aún puede llegar)',
      'message-unread': 'el servidor pidió el mensaje, pero luego dejó de leerlo antes de su final',
      'closed-unanswered': 'el servidor envió su saludo, pero luego cerró la conexión sin responder',
      'upgrade-timeout': 'el servidor aceptó pasar a TLS (STARTTLS), pero luego no completó el protocolo de enlace TLS a tiempo',
      'starttls-hang-up': 'el servidor aceptó pasar a TLS (STARTTLS), pero luego cerró la conexión durante el protocolo de enlace',
      'starttls-not-tls': 'el servidor aceptó pasar a TLS (STARTTLS), pero luego no habló TLS',
    },
  },
  ja: {
    label: '最後のエラー',
    causes: {
      refused: 'サーバーが接続を拒否しました。このホストとポートで接続を受け付けるものがありません (ホスト、ポート、ファイアウォールを確認してください)',
      'no-route': 'Tocsin のマシンからこのアドレスへの経路がありません (ホストと、このマシンのネットワークまたはファイアウォールを確認してください)',
      'dns-unknown': 'SMTP ホスト名が DNS に存在しません (綴りを確認してください)',
      'dns-temporary': 'SMTP ホスト名を現在解決できません (DNS サーバーが失敗したか、応答しませんでした)',
      'connect-timeout': '接続に時間内に応答がありませんでした (ホストまたはポートが誤っているか、ファイアウォールが破棄しています)',
      'greeting-timeout': 'ポートは接続を受け付けましたが、SMTP サーバーのあいさつが時間内にありませんでした',
      'handshake-timeout': 'ポートは接続を受け付けましたが、TLS ハンドシェイクが時間内に完了しませんでした',
      certificate: 'サーバーの証明書を検証できませんでした',
      'plain-server':
        'このポートのサーバーは最初のバイトから TLS を話しません。STARTTLS または TLS なしを想定しています (通常はポート 587 で STARTTLS、465 で TLS)',
      'old-tls': 'サーバーは Tocsin が受け付ける TLS バージョン (TLS 1.2 以降) を提供していません',
      'tls-hang-up': 'サーバーが TLS ハンドシェイク中に接続を閉じました',
      'closed-before-greeting': 'サーバーが SMTP のあいさつの前に接続を閉じました',
      'implicit-tls':
        'このポートのサーバーは最初のバイトから TLS を想定しており、TLS なしでは SMTP のあいさつを送りませんでした (TLS を選択してください。通常はポート 465)',
      'reply-timeout': 'サーバーはあいさつを送りましたが、その後、時間内に応答しませんでした',
      'message-unanswered': 'サーバーはメッセージ全体を受け取りましたが、その終わりに時間内に応答しませんでした (メールはまだ届く可能性があります)',
      'message-unread': 'サーバーはメッセージを求めましたが、その終わりまで読む前に読み取りを止めました',
      'closed-unanswered': 'サーバーはあいさつを送りましたが、その後、応答せずに接続を閉じました',
      'upgrade-timeout': 'サーバーは TLS への切り替え (STARTTLS) に同意しましたが、TLS ハンドシェイクが時間内に完了しませんでした',
      'starttls-hang-up': 'サーバーは TLS への切り替え (STARTTLS) に同意しましたが、ハンドシェイク中に接続を閉じました',
      'starttls-not-tls': 'サーバーは TLS への切り替え (STARTTLS) に同意しましたが、TLS を話しませんでした',
    },
  },
};

/** unreachedLabel is the label of the line that gives such a failure ("The last error"), in place of the server's last reply. */
export function unreachedLabel(language: Language): string {
  return UNREACHED_WORDS[language].label;
}

/** unreachedText is the failure in `language`: why, then Node's own words for it. */
export function unreachedText(unreached: Unreached, language: Language): string {
  const why = UNREACHED_WORDS[language].causes[unreached.cause];
  return unreached.detail ? `${why} (${unreached.detail})` : why;
}

/**
 * unreachedOfData reads the failure a Mail.DeliveryFailing alert's data keeps (notices.ts), if it is
 * one that no server answered; anything else (an older alert, one raised through the API) is none.
 */
export function unreachedOfData(data: unknown): Unreached | undefined {
  const said = typeof data === 'string' ? parsed(data) : data;
  if (typeof said !== 'object' || said === null) return undefined;
  const { cause, detail } = said as { cause?: unknown; detail?: unknown };
  if (typeof cause !== 'string' || !(UNREACHED_CAUSES as readonly string[]).includes(cause)) return undefined;
  return { cause: cause as UnreachedCause, detail: typeof detail === 'string' ? detail : '' };
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
